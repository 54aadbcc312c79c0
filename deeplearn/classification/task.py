"""Image classification on TFDS image datasets (MNIST, Fashion-MNIST, UTKFace genders, Caltech101)."""

import functools

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax
from clu import metrics

from deeplearn import models
from deeplearn.classification import transfer
from deeplearn.core import optimizers, train_state
from deeplearn.core.errors import UserError
from deeplearn.core.input_pipeline import Batch
from deeplearn.core.task import Task, eval_split, loader_kwargs, num_train_steps, shuffled_batches, test_splits
from deeplearn.core.train_state import TrainState
from deeplearn.data import augment, datasets


@flax.struct.dataclass
class ClassificationMetrics(metrics.Collection):
  loss: metrics.Average.from_output('loss')
  accuracy: metrics.Accuracy


def create_model(config: ml_collections.ConfigDict) -> nn.Module:
  return models.create(config.model_name, config.model, config.compute_dtype, config.conv,
                       num_outputs=config.num_classes)


def trained_model(config: ml_collections.ConfigDict, workdir: str) -> nn.Module:
  del workdir  # The config is all it takes.
  return create_model(config)


def train_step(state: TrainState, batch: Batch, rng: jax.Array, *, max_shift: int = 0,
               flip: bool = False, label_smoothing: float = 0.0) -> tuple[TrainState, ClassificationMetrics]:
  """One optimiser step on softmax cross-entropy, after on-device augmentation."""
  augment_rng, dropout_rng = jax.random.split(rng)
  images = augment.augment(augment_rng, augment.to_float(batch['image']), max_shift, flip)
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
  images = augment.to_float(batch['image'])
  logits = state.apply_fn(state.variables(), images, train=False)
  if flip_average:
    mirrored = state.apply_fn(state.variables(), images[:, :, ::-1, :], train=False)
    logits = jnp.log((jax.nn.softmax(logits) + jax.nn.softmax(mirrored)) / 2)
  loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch['label'])
  return ClassificationMetrics.single_from_model_output(
      loss=loss, logits=logits, labels=batch['label'], mask=batch['mask'])


def load_split(config: ml_collections.ConfigDict, split: datasets.Split) -> Batch:
  """A split's images (resized to `config.image_size` when > 0) and the labels in `config.label_feature`."""
  arrays = datasets.load_split(config.dataset, split, image_size=config.image_size, **loader_kwargs(config))
  if config.label_feature not in arrays:
    raise UserError(f'config.label_feature={config.label_feature!r} is not a feature of {config.dataset}; '
                    f'use one of {sorted(arrays)}.')
  return {'image': arrays['image'], 'label': arrays[config.label_feature]}


def state_initializer(model: nn.Module, tx: optax.GradientTransformation, image_shape: tuple[int, ...]):
  """rng -> the initial `TrainState` of an image model taking `image_shape` images."""
  return lambda rng: train_state.create(rng, model, tx, jnp.zeros((1, *image_shape)))


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  del workdir  # Nothing is learned from the data before training.
  batches = shuffled_batches(config, functools.partial(load_split, config))
  steps = num_train_steps(config, batches.steps_per_epoch)
  tx = (transfer.two_phase_optimizer(config, steps) if config.transfer.source
        else optimizers.create_optimizer(config.optimizer, steps))
  init_state = state_initializer(create_model(config), tx, batches(0)['image'].shape[1:])
  if config.transfer.source:
    init_state = transfer.initialized_from(init_state, transfer.load_source(config), config.transfer.backbone)
  return Task(
      init_state=init_state,
      train_step=functools.partial(
          train_step, max_shift=config.augment_max_shift, flip=config.augment_flip,
          label_smoothing=config.label_smoothing),
      eval_step=functools.partial(eval_step, flip_average=config.test_time_flip),
      train_batches=batches,
      eval_splits={'eval': eval_split(load_split(config, config.eval_split), config)},
      final_eval_splits=test_splits(config, lambda split: eval_split(load_split(config, split), config)),
      num_train_steps=steps,
  )
