"""Transfer learning: start from another run's (or Keras') backbone, train the head alone, then everything.

`config.transfer.source` names where the backbone comes from: the workdir of a run (its latest
checkpoint), or `keras_imagenet` for MobileNetV2's ImageNet weights from `keras.applications`.
`config.transfer.backbone` is a regular expression over parameter paths (`Conv1/kernel`,
`ResidualBlock_0/BatchNorm_1/scale`): what matches is taken from the source, with its BatchNorm
statistics, and frozen for the first `head_steps`; after them everything trains at
`finetune_learning_rate`, decayed to zero on a cosine.
"""

import re
from collections.abc import Callable
from typing import Any

import jax
import ml_collections
import numpy as np
import optax
from flax import traverse_util

from deeplearn.core import optimizers, runs
from deeplearn.core.errors import UserError
from deeplearn.core.train_state import TrainState

KERAS_IMAGENET = 'keras_imagenet'
Variables = dict[str, Any]


def load_source(config: ml_collections.ConfigDict) -> Variables:
  """`{'params', 'batch_stats'}` of the run or the Keras weights that `config.transfer.source` names."""
  source = config.transfer.source
  if source == KERAS_IMAGENET:
    if config.model_name != 'mobilenet_v2':
      raise UserError(f"config.transfer.source='{KERAS_IMAGENET}' holds MobileNetV2 weights; set "
                      "--config.model_name=mobilenet_v2.")
    import keras  # pylint: disable=import-outside-toplevel  # Only this source needs Keras.

    from deeplearn.models import mobilenet_v2  # pylint: disable=import-outside-toplevel
    keras_model = keras.applications.MobileNetV2(
        input_shape=(config.image_size, config.image_size, 3), alpha=config.model.alpha, include_top=False,
        weights='imagenet')
    return mobilenet_v2.variables_from_keras(keras_model)
  return runs.load(source).variables


def _is_backbone(pattern: str) -> Callable[[tuple[str, ...]], bool]:
  regex = re.compile(pattern)
  return lambda path: bool(regex.search('/'.join(path)))


def merged(target: Variables, source: Variables, pattern: str) -> Variables:
  """`target` with each parameter and statistic whose path matches `pattern` taken from `source`.

  A matching entry that the source lacks or holds with another shape is an error naming the first such.
  """
  is_backbone = _is_backbone(pattern)
  flat_source = traverse_util.flatten_dict(source)
  flat = traverse_util.flatten_dict(target)
  taken = 0
  for key, value in flat.items():
    collection, path = key[0], key[1:]
    if not is_backbone(path):
      continue
    name = '/'.join(key)
    if key not in flat_source:
      raise UserError(f'The transfer source lacks {name}, which config.transfer.backbone={pattern!r} '
                      'selects; narrow the pattern or use a source with the same backbone.')
    if np.shape(flat_source[key]) != np.shape(value):
      raise UserError(f'{name} has shape {np.shape(flat_source[key])} in the transfer source but '
                      f'{np.shape(value)} in this model: the backbones differ. Match the model to the '
                      'source (widths, alpha, ...) or narrow config.transfer.backbone.')
    flat[key] = jax.numpy.asarray(flat_source[key], value.dtype)
    taken += collection == 'params'
  if not taken:
    raise UserError(f'config.transfer.backbone={pattern!r} selects no parameter of the model; parameter '
                    f'paths look like {"/".join(next(iter(flat))[1:])!r}.')
  return traverse_util.unflatten_dict(flat)


def initialized_from(init_state: Callable[[jax.Array], TrainState], source: Variables,
                     pattern: str) -> Callable[[jax.Array], TrainState]:
  """`init_state` with the backbone (what `pattern` matches) taken from `source`."""
  def init(rng: jax.Array) -> TrainState:
    state = init_state(rng)
    variables = merged(state.variables(), source, pattern)
    return state.replace(params=variables['params'], batch_stats=variables['batch_stats'])
  return init


def two_phase_optimizer(config: ml_collections.ConfigDict, num_train_steps: int) -> optax.GradientTransformation:
  """The head alone for `head_steps` (the backbone's learning rate is 0: it stays bit-for-bit), then everything.

  Both phases use `config.optimizer`; the head's first phase follows its learning rate and schedule,
  the second phase of both decays `transfer.finetune_learning_rate` to zero on a cosine.
  """
  head_steps = config.transfer.head_steps
  finetune = optax.cosine_decay_schedule(config.transfer.finetune_learning_rate,
                                         max(num_train_steps - head_steps, 1))
  head = optax.join_schedules([optimizers.learning_rate_schedule(config.optimizer, head_steps), finetune], [head_steps])
  backbone = optax.join_schedules([optax.constant_schedule(0.0), finetune], [head_steps])
  is_backbone = _is_backbone(config.transfer.backbone)
  return optax.multi_transform(
      {'head': optimizers.create_optimizer(config.optimizer, num_train_steps, head),
       'backbone': optimizers.create_optimizer(config.optimizer, num_train_steps, backbone)},
      lambda params: traverse_util.path_aware_map(
          lambda path, _: 'backbone' if is_backbone(path) else 'head', params))
