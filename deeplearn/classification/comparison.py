"""Variants of one task trained side by side on the same batches, for experiments that compare them.

`config.variants` maps a name to the overrides that make it (e.g. `{'dropout_025': {'model':
{'dropout_rate': 0.25}}}`: a nested group changes only the fields named); everything else
comes from the config. Metrics are named `VARIANT/METRIC`, and at the end a
plot shows every variant's training and evaluation curves of each metric in `config.plot_metrics`.
"""

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import flax
import jax
import ml_collections
import numpy as np

from deeplearn.core import plots, registry
from deeplearn.core.errors import UserError
from deeplearn.core.history import History
from deeplearn.core.input_pipeline import Batch
from deeplearn.core.metrics import NamedMetrics
from deeplearn.core.task import Task


@flax.struct.dataclass
class ComparisonState:
  step: jax.Array
  variants: dict[str, Any]


def variant_configs(config: ml_collections.ConfigDict) -> dict[str, ml_collections.ConfigDict]:
  """One full config per variant: `config` with `task = base_task` and the variant's overrides."""
  if not config.variants:
    raise UserError('config.variants is empty; name at least one variant and its overrides.')
  configs = {}
  for name, overrides in config.variants.items():
    variant = copy.deepcopy(config)
    with variant.unlocked():
      del variant['variants']
      del variant['base_task']
      del variant['plot_metrics']
    variant.task = config.base_task
    for field, value in overrides.items():
      if field not in variant:
        raise UserError(f'config.variants.{name} overrides {field!r}, which the {config.base_task} config lacks.')
      if isinstance(variant[field], ml_collections.ConfigDict):
        variant[field].update(value)  # A nested group: only the named fields change.
      else:
        variant[field] = value
    configs[name] = variant
  return configs


def plot_curves(history: History, names: list[str], epoch_steps: int,
                metric_names: Sequence[str]) -> dict[str, np.ndarray]:
  """Each metric's training and validation curves of every variant per epoch, a panel per metric."""
  fig, axes = plots.figure(7, 4.5, columns=len(metric_names))
  for ax, metric in zip(axes, metric_names):
    for i, name in enumerate(names):
      for prefix, style in (('train', '--'), ('eval', '-')):
        points = history.get(f'{prefix}/{name}/{metric}', [])
        ax.plot([step / epoch_steps for step, _ in points], [v for _, v in points], style, color=f'C{i}',
                label=f'{name}: {"training" if prefix == "train" else "validation"}')
    ax.set(xlabel='epoch', ylabel=metric, title=f'Training and validation {metric}')
    ax.legend()
  return {'comparison': plots.to_array(fig)}


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  variants = {name: registry.get_task(c, workdir) for name, c in variant_configs(config).items()}
  first = next(iter(variants.values()))

  def init_state(rng: jax.Array) -> ComparisonState:
    return ComparisonState(step=jax.numpy.zeros((), jax.numpy.int32), variants={
        name: task.init_state(jax.random.fold_in(rng, i)) for i, (name, task) in enumerate(variants.items())})

  def train_step(state: ComparisonState, batch: Batch, rng: jax.Array) -> tuple[ComparisonState, NamedMetrics]:
    new_states, step_metrics = {}, {}
    for i, (name, task) in enumerate(variants.items()):
      new_states[name], step_metrics[name] = task.train_step(state.variants[name], batch, jax.random.fold_in(rng, i))
    return ComparisonState(step=state.step + 1, variants=new_states), NamedMetrics(step_metrics)

  def eval_step(state: ComparisonState, batch: Batch) -> NamedMetrics:
    return NamedMetrics({name: task.eval_step(state.variants[name], batch) for name, task in variants.items()})

  def plot_history(history: History) -> Mapping[str, np.ndarray]:
    return plot_curves(history, list(variants), first.train_batches.steps_per_epoch, config.plot_metrics)

  return Task(init_state=init_state, train_step=train_step, eval_step=eval_step,
              train_batches=first.train_batches, eval_splits=first.eval_splits,
              final_eval_splits=first.final_eval_splits, num_train_steps=first.num_train_steps, plot_history=plot_history)
