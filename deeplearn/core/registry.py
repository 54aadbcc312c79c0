"""Projects by name: `config.task` picks the module that builds the task, its trained model and its predictor.

A task module defines `get_task(config, workdir) -> Task`; when its runs hold one model it also defines
`trained_model(config, workdir) -> nn.Module` and `trained_variables(state) -> variables` (what
`deeplearn.core.runs.load` uses). A predictor module defines `predict(run, inputs) -> exit status`.
Modules are imported only when asked for, so a project's dependencies load only for its runs.
"""

import importlib
import types

import ml_collections

from deeplearn.core.errors import UserError
from deeplearn.core.task import Task

TASKS = {
    'age': 'deeplearn.age.task',
    'classification': 'deeplearn.classification.task',
    'comparison': 'deeplearn.classification.comparison',
    'continual': 'deeplearn.classification.continual',
    'dcgan': 'deeplearn.dcgan.task',
    'imdb': 'deeplearn.imdb.task',
    'regression': 'deeplearn.regression.task',
}
PREDICTORS = {
    'age': 'deeplearn.age.predict',
    'imdb': 'deeplearn.imdb.predict',
}


def task_module(name: str) -> types.ModuleType:
  if name not in TASKS:
    raise UserError(f'config.task={name!r} is unknown; use one of {sorted(TASKS)}.')
  return importlib.import_module(TASKS[name])


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  """The task `config.task`; it keeps what it learns from the data before training (a tokenizer) in `workdir`."""
  return task_module(config.task).get_task(config, workdir)


def predictor_module(name: str) -> types.ModuleType:
  if name not in PREDICTORS:
    raise UserError(f'there is no predictor for {name!r} runs; `predict` reads '
                    f'{" and ".join(sorted(PREDICTORS))} runs.')
  return importlib.import_module(PREDICTORS[name])
