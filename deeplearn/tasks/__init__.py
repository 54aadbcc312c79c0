"""Tasks by name: `config.task` picks the module whose `get_task(config)` builds it."""

import importlib

import ml_collections

from deeplearn.errors import UserError
from deeplearn.tasks.base import Task

_TASK_MODULES = {
    'age': 'deeplearn.tasks.age',
    'classification': 'deeplearn.tasks.classification',
    'comparison': 'deeplearn.tasks.comparison',
    'continual': 'deeplearn.tasks.continual',
    'dcgan': 'deeplearn.tasks.dcgan',
    'regression': 'deeplearn.tasks.regression',
}


def get_task(config: ml_collections.ConfigDict) -> Task:
  if config.task not in _TASK_MODULES:
    raise UserError(f'config.task={config.task!r} is unknown; use one of {sorted(_TASK_MODULES)}.')
  return importlib.import_module(_TASK_MODULES[config.task]).get_task(config)
