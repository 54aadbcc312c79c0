"""The one way to load a finished (or running) training run: its config, model, variables and step."""

import dataclasses
from typing import Any

import flax.linen as nn
import ml_collections

from deeplearn.core import checkpoints, registry, workdir as workdir_lib
from deeplearn.core.errors import UserError


@dataclasses.dataclass(frozen=True)
class Run:
  """A run's model at one checkpoint: `model.apply(variables, ...)` predicts as the run's evaluation does."""
  workdir: str
  config: ml_collections.ConfigDict
  model: nn.Module
  variables: dict[str, Any]
  step: int


def default_variables(state: dict[str, Any]) -> dict[str, Any]:
  """The model variables of a saved single-model `TrainState`: its averaged parameters where it kept an average."""
  params = state['ema_params'] if state.get('ema_params') is not None else state['params']
  return {'params': params, 'batch_stats': state.get('batch_stats', {})}


def load_config(workdir: str, task: str | None = None) -> ml_collections.ConfigDict:
  """The config of the run in `workdir`; with `task`, an error unless the run is of that task."""
  config = workdir_lib.load_config(workdir)
  if task is not None and config.task != task:
    raise UserError(f'{workdir} holds a {config.task!r} run; a {task} run is needed here.')
  return config


def load(workdir: str, step: int | None = None, task: str | None = None) -> Run:
  """The run in `workdir` at checkpoint `step` (default: its latest); with `task`, only a run of that task."""
  config = load_config(workdir, task)
  module = registry.task_module(config.task)
  if not hasattr(module, 'trained_model'):
    raise UserError(f'{workdir} holds a {config.task!r} run, which keeps no single model to load.')
  step = checkpoints.saved_steps(workdir)[-1] if step is None else step
  state = checkpoints.restore_as_saved(workdir, step)['state']
  variables = getattr(module, 'trained_variables', default_variables)(state)
  return Run(workdir, config, module.trained_model(config, workdir), variables, step)
