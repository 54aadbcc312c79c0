"""Tasks by name: `config.task` picks the module whose `get_task(config, workdir)` builds it.

A task keeps what it learns from the data before training (such as a tokenizer) in the workdir.
"""

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
    'imdb': 'deeplearn.tasks.imdb',
    'regression': 'deeplearn.tasks.regression',
}


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  if config.task not in _TASK_MODULES:
    raise UserError(f'config.task={config.task!r} is unknown; use one of {sorted(_TASK_MODULES)}.')
  return importlib.import_module(_TASK_MODULES[config.task]).get_task(config, workdir)
