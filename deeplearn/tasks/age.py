"""Age regression on UTKFace portraits: an image in, an age in years out, trained on the absolute error."""

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from clu import metrics
from PIL import Image, ImageOps

from deeplearn import checkpoints, datasets, optimizers, workdir
from deeplearn.errors import UserError
from deeplearn.input_pipeline import Batch
from deeplearn.models import cnn, resnet
from deeplearn.tasks.base import Task, compute_dtype, loader_kwargs, num_train_steps, shuffled_batches
from deeplearn.tasks.classification import augment, init_state, to_float
from deeplearn.train_state import TrainState


def band_mae(low: int, high: int) -> type[metrics.Average]:
  """The mean absolute error over the examples aged `low` to `high` years, both included."""
  def in_band(abs_error: jax.Array, age: jax.Array, mask: jax.Array | None = None, **_) -> dict[str, jax.Array]:
    band = (age >= low) & (age <= high)
    return {'values': abs_error, 'mask': band if mask is None else band & mask}
  return metrics.Average.from_fun(in_band)


@dataclasses.dataclass(frozen=True)
class AgeHead:
  """How the model's outputs become ages in years, and the training objective on them.

  'regression': one output, age = `shift + scale * output`, trained on the absolute error.
  'distribution': one logit per whole age 0..`max_age`, age = the expectation of their softmax,
  trained on the absolute error plus the cross-entropy to a Gaussian of `label_sigma` years around the
  true age (DLDL-v2, Gao et al. 2018): each example also teaches the neighbouring ages.
  """
  kind: str = 'regression'
  shift: float = 0.0
  scale: float = 1.0
  max_age: int = 116
  label_sigma: float = 2.0

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> 'AgeHead':
    if 'head' not in config:  # A run saved before heads were configurable: it regressed.
      return cls('regression', config.age_shift, config.age_scale)
    if config.head not in ('regression', 'distribution'):
      raise UserError(f"config.head={config.head!r} is unknown; use 'regression' or 'distribution'.")
    return cls(config.head, config.age_shift, config.age_scale, config.max_age, config.label_sigma)

  @property
  def num_outputs(self) -> int:
    return self.max_age + 1 if self.kind == 'distribution' else 1

  def ages(self, outputs: jax.Array) -> jax.Array:
    """Ages in years from a batch of model outputs."""
    if self.kind == 'distribution':
      return jax.nn.softmax(outputs) @ jnp.arange(self.num_outputs, dtype=jnp.float32)
    return self.shift + self.scale * outputs[:, 0]

  def loss(self, outputs: jax.Array, ages: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The objective per example and its absolute error in years (for 'regression', the two are one)."""
    abs_error = jnp.abs(self.ages(outputs) - ages)
    if self.kind == 'regression':
      return abs_error, abs_error
    distance = (jnp.arange(self.num_outputs) - ages[:, None]) / self.label_sigma
    return abs_error + optax.softmax_cross_entropy(outputs, jax.nn.softmax(-0.5 * distance**2)), abs_error


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
  """The model of `config`; runs saved before `head`, `kernel_init` and `relu_output` existed had neither."""
  num_outputs = AgeHead.from_config(config).num_outputs
  models = {
      'original_cnn': lambda dtype: cnn.OriginalCNN(
          num_outputs, config.dropout_rate, kernel_size=5, stride=4,
          kernel_init=cnn.kernel_initializer(config.get('kernel_init', 'lecun_normal')),
          relu_output=config.get('relu_output', False), dtype=dtype),
      'resnet': lambda dtype: resnet.ResNet(num_outputs, tuple(config.widths), config.blocks_per_stage,
                                            config.dropout_rate, dtype),
  }
  if config.model not in models:
    raise UserError(f'config.model={config.model!r} is unknown; use one of {sorted(models)}.')
  return models[config.model](compute_dtype(config))


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
  images = augment(augment_rng, to_float(batch['image']), max_shift, flip)
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
  ages = predicted_ages(state.apply_fn, state.variables(), to_float(batch['image']), head=head,
                        flip_average=flip_average)
  return AgeMetrics.single_from_model_output(
      abs_error=jnp.abs(ages - batch['age']), age=batch['age'], mask=batch['mask'])


def prediction_kwargs(config: ml_collections.ConfigDict) -> dict[str, Any]:
  return dict(head=AgeHead.from_config(config), flip_average=config.test_time_flip)


def age_predictor(config: ml_collections.ConfigDict, model: nn.Module) -> Callable[[Any, np.ndarray], jax.Array]:
  """A compiled `(variables, uint8 images) -> ages in years`, predicting as `config`'s evaluation does."""
  return jax.jit(lambda variables, images: predicted_ages(model.apply, variables, to_float(images),
                                                          **prediction_kwargs(config)))


def load_config(run_dir: str) -> ml_collections.ConfigDict:
  """The config of the age run in `run_dir`; an error if the run is of another task."""
  config = workdir.load_config(run_dir)
  if config.task != 'age':
    raise UserError(f'{run_dir} holds a {config.task!r} run; an age run is needed here.')
  return config


def load_variables(run_dir: str, step: int) -> dict[str, Any]:
  """The model variables an age run saved at checkpoint `step`."""
  saved = checkpoints.restore_as_saved(run_dir, step)
  return {'params': saved['state']['params'], 'batch_stats': saved['state']['batch_stats']}


def load_trained(run_dir: str, step: int | None = None) -> tuple[ml_collections.ConfigDict, nn.Module, dict[str, Any]]:
  """The config, model and variables of the age run in `run_dir` at checkpoint `step` (default: the latest)."""
  config = load_config(run_dir)
  step = checkpoints.saved_steps(run_dir)[-1] if step is None else step
  return config, create_model(config), load_variables(run_dir, step)


def load_image(path: str, size: int) -> np.ndarray:
  """The image in `path` as RGB, center-cropped to a square and resized to `size` x `size`, uint8."""
  try:
    with Image.open(path) as image:
      image = ImageOps.exif_transpose(image).convert('RGB')
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    raise UserError(f'cannot read {path} as an image ({type(e).__name__}: {e})') from e
  width, height = image.size
  side = min(width, height)
  left, top = (width - side) // 2, (height - side) // 2
  square = np.asarray(image.crop((left, top, left + side, top + side)))
  return datasets.resized(square, size).numpy()


def predict_ages(run_dir: str, paths: Sequence[str]) -> tuple[dict[str, float], dict[str, str]]:
  """The predicted age of each readable image, and the error of each unreadable one, by path."""
  config, model, variables = load_trained(run_dir)
  images, errors = {}, {}
  for path in paths:
    try:
      images[path] = load_image(path, config.image_size)
    except UserError as e:
      errors[path] = str(e)
  if not images:
    return {}, errors
  ages = age_predictor(config, model)(variables, np.stack(list(images.values())))
  return dict(zip(images, np.asarray(ages).tolist())), errors


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  batches = shuffled_batches(config, functools.partial(load_split, config))
  steps = num_train_steps(config, batches.steps_per_epoch)
  return Task(
      init_state=functools.partial(
          init_state, model=create_model(config), tx=optimizers.create_optimizer(config, steps),
          image_shape=batches.shards[0]['image'].shape[1:]),
      train_step=functools.partial(
          train_step, head=AgeHead.from_config(config), max_shift=config.augment_max_shift,
          flip=config.augment_flip),
      eval_step=functools.partial(eval_step, **prediction_kwargs(config)),
      train_batches=batches,
      eval_splits={'eval': load_split(config, config.eval_split)},
      final_eval_splits={'test': load_split(config, config.test_split)},
      num_train_steps=steps,
  )
