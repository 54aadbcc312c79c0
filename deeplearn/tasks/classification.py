"""Image classification on TFDS image datasets (MNIST, Fashion-MNIST, UTKFace genders, Caltech101)."""

import functools

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
from clu import metrics

from deeplearn import checkpoints, datasets, optimizers, transfer, workdir
from deeplearn.errors import UserError
from deeplearn.input_pipeline import Batch
from deeplearn.models import cnn, mobilenet_v2, resnet
from deeplearn.tasks.base import Task, compute_dtype, loader_kwargs, num_train_steps, shuffled_batches
from deeplearn.train_state import TrainState


@flax.struct.dataclass
class ClassificationMetrics(metrics.Collection):
  loss: metrics.Average.from_output('loss')
  accuracy: metrics.Accuracy


def create_model(config: ml_collections.ConfigDict) -> nn.Module:
  models = {
      'original_cnn': lambda dtype: cnn.OriginalCNN(config.num_classes, config.dropout_rate, dtype=dtype),
      'strong_cnn': lambda dtype: cnn.StrongCNN(
          config.num_classes, tuple(config.widths), config.dropout_rate, config.head_features, dtype),
      'resnet': lambda dtype: resnet.ResNet(
          config.num_classes, tuple(config.widths), config.blocks_per_stage, config.dropout_rate, dtype),
      'mobilenet_v2': lambda dtype: mobilenet_v2.MobileNetV2(config.num_classes, config.alpha, config.dropout_rate),
  }
  if config.model not in models:
    raise UserError(f'config.model={config.model!r} is unknown; use one of {sorted(models)}.')
  return models[config.model](compute_dtype(config, supported=config.model != 'mobilenet_v2'))


def to_float(images: jax.Array) -> jax.Array:
  """uint8 pixels to float32 in [0, 1]."""
  return images.astype(jnp.float32) / 255.0


def augment(rng: jax.Array, images: jax.Array, max_shift: int, flip: bool) -> jax.Array:
  """Shifts each image by up to `max_shift` pixels (zero fill) and, if `flip`, mirrors half of them."""
  shift_rng, flip_rng = jax.random.split(rng)
  n, h, w, _ = images.shape
  if max_shift:
    padded = jnp.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
    offsets = jax.random.randint(shift_rng, (n, 2), 0, 2 * max_shift + 1)
    crop = lambda image, offset: jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, image.shape[-1]))
    images = jax.vmap(crop)(padded, offsets)
  if flip:
    mirrored = jax.random.bernoulli(flip_rng, 0.5, (n, 1, 1, 1))
    images = jnp.where(mirrored, images[:, :, ::-1, :], images)
  return images


def init_state(rng: jax.Array, *, model: nn.Module, tx: optax.GradientTransformation,
               image_shape: tuple[int, ...]) -> TrainState:
  variables = model.init(rng, jnp.zeros((1, *image_shape)), train=False)
  return TrainState.create(apply_fn=model.apply, params=variables['params'], tx=tx,
                           batch_stats=variables.get('batch_stats', {}))


def train_step(state: TrainState, batch: Batch, rng: jax.Array, *, max_shift: int = 0,
               flip: bool = False, label_smoothing: float = 0.0) -> tuple[TrainState, ClassificationMetrics]:
  """One optimiser step on softmax cross-entropy, after on-device augmentation."""
  augment_rng, dropout_rng = jax.random.split(rng)
  images = augment(augment_rng, to_float(batch['image']), max_shift, flip)
  labels = batch['label']

  def loss_fn(params):
    logits, updates = state.apply_fn(
        {'params': params, 'batch_stats': state.batch_stats}, images, train=True,
        rngs={'dropout': dropout_rng}, mutable=['batch_stats'])
    targets = optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1]), label_smoothing)
    return optax.softmax_cross_entropy(logits, targets).mean(), (logits, updates)

  (loss, (logits, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads, batch_stats=updates.get('batch_stats', {}))
  return state, ClassificationMetrics.single_from_model_output(
      loss=jnp.broadcast_to(loss, labels.shape), logits=logits, labels=labels)


def eval_step(state: TrainState, batch: Batch, *, flip_average: bool = False) -> ClassificationMetrics:
  """Loss and accuracy over the examples where `batch['mask']` is true.

  With `flip_average`, the prediction averages the probabilities of each image and its mirror image.
  """
  images = to_float(batch['image'])
  logits = state.apply_fn(state.variables(), images, train=False)
  if flip_average:
    mirrored = state.apply_fn(state.variables(), images[:, :, ::-1, :], train=False)
    logits = jnp.log((jax.nn.softmax(logits) + jax.nn.softmax(mirrored)) / 2)
  loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch['label'])
  return ClassificationMetrics.single_from_model_output(
      loss=loss, logits=logits, labels=batch['label'], mask=batch['mask'])


def load_trained(run_dir: str) -> tuple[nn.Module, dict]:
  """The model and variables of the latest checkpoint of the classification run in `run_dir`."""
  config = workdir.load_config(run_dir)
  if config.task != 'classification':
    raise UserError(f'{run_dir} holds a {config.task!r} run; a classification run is needed here.')
  saved, _ = checkpoints.restore_latest_as_saved(run_dir)
  return create_model(config), {'params': saved['state']['params'], 'batch_stats': saved['state']['batch_stats']}


def load_split(config: ml_collections.ConfigDict, split: datasets.Split) -> Batch:
  """A split's images (resized to `config.image_size` when > 0) and the labels in `config.label_feature`."""
  arrays = datasets.load_split(config.dataset, split, image_size=config.image_size, **loader_kwargs(config))
  if config.label_feature not in arrays:
    raise UserError(f'config.label_feature={config.label_feature!r} is not a feature of {config.dataset}; '
                    f'use one of {sorted(arrays)}.')
  return {'image': arrays['image'], 'label': arrays[config.label_feature]}


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  batches = shuffled_batches(config, functools.partial(load_split, config))
  steps = num_train_steps(config, batches.steps_per_epoch)
  tx = (transfer.two_phase_optimizer(config, steps) if config.transfer.source
        else optimizers.create_optimizer(config, steps))
  init = functools.partial(init_state, model=create_model(config), tx=tx,
                           image_shape=batches.shards[0]['image'].shape[1:])
  if config.transfer.source:
    init = transfer.initialized_from(init, transfer.load_source(config), config.transfer.backbone)
  return Task(
      init_state=init,
      train_step=functools.partial(
          train_step, max_shift=config.augment_max_shift, flip=config.augment_flip,
          label_smoothing=config.label_smoothing),
      eval_step=functools.partial(eval_step, flip_average=config.test_time_flip),
      train_batches=batches,
      eval_splits={'eval': load_split(config, config.eval_split)},
      final_eval_splits={'test': load_split(config, config.test_split)} if config.test_split else {},
      num_train_steps=steps,
  )
