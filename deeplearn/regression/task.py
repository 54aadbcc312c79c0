"""The course's first exercise: an MLP fitting y = sin(1 + x^2) + noise on [0, 3], no download needed."""

import functools

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from clu import metrics

from deeplearn import models
from deeplearn.core import input_pipeline, optimizers, plots
from deeplearn.core.input_pipeline import Batch
from deeplearn.core.task import Task, data_shards, eval_split, num_train_steps
from deeplearn.core.train_state import TrainState

_SPLITS = ('train', 'validation', 'test')


@flax.struct.dataclass
class RegressionMetrics(metrics.Collection):
  loss: metrics.Average.from_output('loss')  # mean squared error
  mae: metrics.Average.from_output('mae')


def truth(x: np.ndarray) -> np.ndarray:
  return np.sin(1 + x ** 2)


def make_splits(config: ml_collections.ConfigDict) -> dict[str, Batch]:
  """Train, validation and test samples of `truth` plus Gaussian noise, drawn from `config.seed`."""
  sizes = (config.num_train, config.num_validation, config.num_test)
  keys = jax.random.split(jax.random.fold_in(jax.random.key(config.seed), 1), 2)
  x = np.asarray(jax.random.uniform(keys[0], (sum(sizes), 1), minval=config.x_min, maxval=config.x_max))
  y = truth(x) + config.noise_std * np.asarray(jax.random.normal(keys[1], x.shape))
  bounds = np.cumsum(sizes)[:-1]
  return {name: {'x': xs, 'y': ys} for name, xs, ys in zip(_SPLITS, np.split(x, bounds), np.split(y, bounds))}


def init_state(rng: jax.Array, *, model: nn.Module, tx: optax.GradientTransformation) -> TrainState:
  return TrainState.create(apply_fn=model.apply, params=model.init(rng, jnp.zeros((1, 1)))['params'], tx=tx)


def _metrics(predictions: jax.Array, batch: Batch, mask: jax.Array | None = None) -> RegressionMetrics:
  errors = (predictions - batch['y'])[:, 0]
  return RegressionMetrics.single_from_model_output(loss=errors ** 2, mae=jnp.abs(errors), mask=mask)


def train_step(state: TrainState, batch: Batch, rng: jax.Array) -> tuple[TrainState, RegressionMetrics]:
  """One optimiser step on the mean squared error."""
  del rng  # Nothing random in the step.

  def loss_fn(params):
    predictions = state.apply_fn({'params': params}, batch['x'])
    return jnp.mean((predictions - batch['y']) ** 2), predictions

  (_, predictions), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  return state.apply_gradients(grads=grads), _metrics(predictions, batch)


def eval_step(state: TrainState, batch: Batch) -> RegressionMetrics:
  return _metrics(state.apply_fn({'params': state.params}, batch['x']), batch, batch['mask'])


def plot_fit(state: TrainState, splits: dict[str, Batch], x_range: tuple[float, float]) -> dict[str, np.ndarray]:
  """The training samples, the true function and the model's fit, on one plot."""
  grid = np.linspace(*x_range, 300)[:, None]
  fit = np.asarray(_predict(state, grid))
  fig, (ax,) = plots.figure()
  ax.scatter(splits['train']['x'], splits['train']['y'], s=6, alpha=0.4, label='training samples')
  ax.plot(grid, truth(grid), 'k--', label='truth: sin(1 + x^2)')
  ax.plot(grid, fit, 'C3', linewidth=2, label=f'fit at step {int(state.step)}')
  ax.set(xlabel='x', ylabel='y')
  ax.legend(loc='lower left')
  return {'fit': plots.to_array(fig)}


@jax.jit
def _predict(state: TrainState, x: jax.Array) -> jax.Array:
  return state.apply_fn({'params': state.params}, x)


def create_model(config: ml_collections.ConfigDict) -> nn.Module:
  return models.create(config.model_name, config.model, config.compute_dtype, config.conv)


def trained_model(config: ml_collections.ConfigDict, workdir: str) -> nn.Module:
  del workdir  # The config is all it takes.
  return create_model(config)


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  del workdir  # The data is drawn from the seed.
  splits = make_splits(config)
  num_shards, shard_ids = data_shards(config)
  batches = input_pipeline.ShuffledBatches(input_pipeline.in_memory_shards(splits['train'], num_shards, shard_ids),
                                           config.batch_size, config.seed, shard_ids, num_shards)
  steps = num_train_steps(config, batches.steps_per_epoch)
  return Task(
      init_state=functools.partial(init_state, model=create_model(config),
                                   tx=optimizers.create_optimizer(config.optimizer, steps)),
      train_step=train_step,
      eval_step=eval_step,
      train_batches=batches,
      eval_splits={'eval': eval_split(splits['validation'], config)},
      final_eval_splits={'test': eval_split(splits['test'], config)},
      num_train_steps=steps,
      eval_images=functools.partial(plot_fit, splits=splits, x_range=(config.x_min, config.x_max)),
  )
