"""Age regression on UTKFace portraits: an image in, an age in years out, trained on the absolute error."""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from clu import metrics

from deeplearn import models
from deeplearn.classification import task as classification
from deeplearn.core import optimizers
from deeplearn.core.errors import UserError
from deeplearn.core.input_pipeline import Batch
from deeplearn.core.task import Task, eval_split, loader_kwargs, num_train_steps, shuffled_batches, test_splits
from deeplearn.core.train_state import TrainState
from deeplearn.data import augment, datasets


def band_mae(low: int, high: int) -> type[metrics.Average]:
  """The mean absolute error over the examples aged `low` to `high` years, both included."""
  def in_band(abs_error: jax.Array, age: jax.Array, mask: jax.Array | None = None, **_) -> dict[str, jax.Array]:
    band = (age >= low) & (age <= high)
    return {'values': abs_error, 'mask': band if mask is None else band & mask}
  return metrics.Average.from_fun(in_band)


@dataclasses.dataclass(frozen=True)
class RegressionHead:
  """One output; age = `shift + scale * output`, trained on the absolute error."""
  shift: float = 0.0
  scale: float = 1.0
  num_outputs = 1

  def ages(self, outputs: jax.Array) -> jax.Array:
    """Ages in years from a batch of model outputs."""
    return self.shift + self.scale * outputs[:, 0]

  def loss(self, outputs: jax.Array, ages: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The objective per example and its absolute error in years (here the two are one)."""
    abs_error = jnp.abs(self.ages(outputs) - ages)
    return abs_error, abs_error


@dataclasses.dataclass(frozen=True)
class DistributionHead:
  """One logit per whole age 0..`max_age`; age = the expectation of their softmax.

  Trained on the absolute error plus the cross-entropy to a Gaussian of `label_sigma` years around the
  true age (DLDL-v2, Gao et al. 2018): each example also teaches the neighbouring ages.
  """
  max_age: int = 116
  label_sigma: float = 2.0

  @property
  def num_outputs(self) -> int:
    return self.max_age + 1

  def ages(self, outputs: jax.Array) -> jax.Array:
    """Ages in years from a batch of model outputs."""
    return jax.nn.softmax(outputs) @ jnp.arange(self.num_outputs, dtype=jnp.float32)

  def loss(self, outputs: jax.Array, ages: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The objective per example and its absolute error in years."""
    abs_error = jnp.abs(self.ages(outputs) - ages)
    distance = (jnp.arange(self.num_outputs) - ages[:, None]) / self.label_sigma
    return abs_error + optax.softmax_cross_entropy(outputs, jax.nn.softmax(-0.5 * distance**2)), abs_error


AgeHead = RegressionHead | DistributionHead
HEADS = {'regression': RegressionHead, 'distribution': DistributionHead}


def create_head(config: ml_collections.ConfigDict) -> AgeHead:
  """`config.head_name`'s head with the fields of `config.head`."""
  if config.head_name not in HEADS:
    raise UserError(f'config.head_name={config.head_name!r} is unknown; use one of {sorted(HEADS)}.')
  try:
    return HEADS[config.head_name](**config.head)
  except TypeError as e:
    raise UserError(f'config.head={config.head.to_dict()} does not suit the {config.head_name!r} head: {e}') from e


@flax.struct.dataclass
class TrainMetrics(metrics.Collection):
  loss: metrics.Average.from_output('loss')  # The objective.
  mae: metrics.Average.from_output('abs_error')  # In years, on the augmented training images.


@flax.struct.dataclass
class AgeMetrics(metrics.Collection):
  """The mean absolute error in years, overall and per age band."""
  mae: metrics.Average.from_output('abs_error')
  mae_0_10: band_mae(0, 10)
  mae_11_20: band_mae(11, 20)
  mae_21_30: band_mae(21, 30)
  mae_31_40: band_mae(31, 40)
  mae_41_50: band_mae(41, 50)
  mae_51_60: band_mae(51, 60)
  mae_61_up: band_mae(61, 1000)


def create_model(config: ml_collections.ConfigDict) -> nn.Module:
  return models.create(config.model_name, config.model, config.compute_dtype, config.conv,
                       num_outputs=create_head(config).num_outputs)


def trained_model(config: ml_collections.ConfigDict, workdir: str) -> nn.Module:
  del workdir  # The config is all it takes.
  return create_model(config)


def load_split(config: ml_collections.ConfigDict, split: datasets.Split) -> Batch:
  """Images at `config.image_size` and their ages."""
  arrays = datasets.load_split(config.dataset, split, image_size=config.image_size, **loader_kwargs(config))
  return {'image': arrays['image'], 'age': arrays['age'].astype(np.int32)}


def predicted_ages(apply_fn: Callable[..., jax.Array], variables: Any, images: jax.Array, *, head: AgeHead,
                   flip_average: bool) -> jax.Array:
  """Ages in years for float images in [0, 1]; with `flip_average`, the mean over each image and its mirror."""
  ages = head.ages(apply_fn(variables, images, train=False))
  if flip_average:
    ages = (ages + head.ages(apply_fn(variables, images[:, :, ::-1, :], train=False))) / 2
  return ages


def train_step(state: TrainState, batch: Batch, rng: jax.Array, *, head: AgeHead, max_shift: int,
               flip: bool) -> tuple[TrainState, TrainMetrics]:
  """One optimiser step on `head`'s objective, after on-device augmentation."""
  augment_rng, dropout_rng = jax.random.split(rng)
  images = augment.augment(augment_rng, augment.to_float(batch['image']), max_shift, flip)
  ages = batch['age'].astype(jnp.float32)

  def loss_fn(params):
    outputs, updates = state.apply_fn(
        {'params': params, 'batch_stats': state.batch_stats}, images, train=True,
        rngs={'dropout': dropout_rng}, mutable=['batch_stats'])
    loss, abs_error = head.loss(outputs, ages)
    return loss.mean(), (loss, abs_error, updates)

  (_, (loss, abs_error, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads, batch_stats=updates.get('batch_stats', {}))
  return state, TrainMetrics.single_from_model_output(loss=loss, abs_error=abs_error)


def eval_step(state: TrainState, batch: Batch, *, head: AgeHead, flip_average: bool) -> AgeMetrics:
  """The absolute errors of the examples where `batch['mask']` is true, overall and per age band."""
  ages = predicted_ages(state.apply_fn, state.variables(), augment.to_float(batch['image']), head=head,
                        flip_average=flip_average)
  return AgeMetrics.single_from_model_output(
      abs_error=jnp.abs(ages - batch['age']), age=batch['age'], mask=batch['mask'])


def prediction_kwargs(config: ml_collections.ConfigDict) -> dict[str, Any]:
  return dict(head=create_head(config), flip_average=config.test_time_flip)


def age_predictor(config: ml_collections.ConfigDict, model: nn.Module) -> Callable[[Any, np.ndarray], jax.Array]:
  """A compiled `(variables, uint8 images) -> ages in years`, predicting as `config`'s evaluation does."""
  return jax.jit(lambda variables, images: predicted_ages(model.apply, variables, augment.to_float(images),
                                                          **prediction_kwargs(config)))


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  del workdir  # Nothing is learned from the data before training.
  batches = shuffled_batches(config, functools.partial(load_split, config))
  steps = num_train_steps(config, batches.steps_per_epoch)
  return Task(
      init_state=classification.state_initializer(
          create_model(config), optimizers.create_optimizer(config.optimizer, steps),
          batches(0)['image'].shape[1:]),
      train_step=functools.partial(
          train_step, head=create_head(config), max_shift=config.augment_max_shift, flip=config.augment_flip),
      eval_step=functools.partial(eval_step, **prediction_kwargs(config)),
      train_batches=batches,
      eval_splits={'eval': eval_split(load_split(config, config.eval_split), config)},
      final_eval_splits=test_splits(config, lambda split: eval_split(load_split(config, split), config)),
      num_train_steps=steps,
  )
