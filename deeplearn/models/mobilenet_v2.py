"""MobileNetV2 (Sandler et al., 2018) in Flax, layer for layer as `keras.applications.MobileNetV2`.

Modules carry Keras' layer names, so `variables_from_keras` can load Keras' weights (ImageNet ones
included) into the Flax parameters and statistics.
"""

import functools
import re
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# (expansion, output filters, stride) of Keras' 17 inverted residual blocks.
BLOCKS = ((1, 16, 1), (6, 24, 2), (6, 24, 1), (6, 32, 2), (6, 32, 1), (6, 32, 1), (6, 64, 2), (6, 64, 1),
          (6, 64, 1), (6, 64, 1), (6, 96, 1), (6, 96, 1), (6, 96, 1), (6, 160, 2), (6, 160, 1),
          (6, 160, 1), (6, 320, 1))
_KERAS_BLOCK = re.compile(r'^(expanded_conv|block_\d+)_(.+)$')


def make_divisible(value: float, divisor: int = 8) -> int:
  """Keras' rounding of channel counts to a multiple of `divisor`, never more than 10% below `value`."""
  rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
  return rounded + divisor if rounded < 0.9 * value else rounded


def _keras_pads(size: int, stride: int) -> tuple[int, int]:
  """Keras' `correct_pad` for a 3x3 kernel: one pixel after, and one before too when the size is odd."""
  return (1, 1) if stride == 1 or size % 2 else (0, 1)


class InvertedResidual(nn.Module):
  """Expand (1x1), depthwise 3x3, project (1x1, linear); added to the input when the shapes allow."""
  expansion: int
  features: int
  stride: int
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.999, epsilon=1e-3,
                             dtype=self.dtype)
    conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype)
    inputs, channels = x, x.shape[-1]
    if self.expansion != 1:
      x = conv(self.expansion * channels, (1, 1), name='expand')(x)
      x = nn.relu6(norm(name='expand_BN')(x))
    pads = (_keras_pads(x.shape[1], self.stride), _keras_pads(x.shape[2], self.stride))
    x = conv(x.shape[-1], (3, 3), (self.stride, self.stride), pads, feature_group_count=x.shape[-1],
             name='depthwise')(x)
    x = nn.relu6(norm(name='depthwise_BN')(x))
    x = norm(name='project_BN')(conv(self.features, (1, 1), name='project')(x))
    return inputs + x if self.stride == 1 and channels == self.features else x


class MobileNetV2(nn.Module):
  """MobileNetV2 on float images in [0, 1] (scaled to Keras' [-1, 1] inside); `num_outputs=0` gives features."""
  num_outputs: int = 1000
  alpha: float = 1.0
  dropout_rate: float = 0.0
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters and outputs stay float32.

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.999, epsilon=1e-3,
                             dtype=self.dtype)
    conv = functools.partial(nn.Conv, use_bias=False, dtype=self.dtype)
    x = 2 * x - 1
    pads = (_keras_pads(x.shape[1], 2), _keras_pads(x.shape[2], 2))
    x = conv(make_divisible(32 * self.alpha), (3, 3), (2, 2), pads, name='Conv1')(x)
    x = nn.relu6(norm(name='bn_Conv1')(x))
    for i, (expansion, features, stride) in enumerate(BLOCKS):
      x = InvertedResidual(expansion, make_divisible(int(features * self.alpha)), stride, self.dtype,
                           name=f'block_{i}' if i else 'expanded_conv')(x, train)
    last = make_divisible(1280 * self.alpha) if self.alpha > 1.0 else 1280
    x = nn.relu6(norm(name='Conv_1_bn')(conv(last, (1, 1), name='Conv_1')(x)))
    x = jnp.mean(x, axis=(1, 2))
    self.sow('intermediates', 'features', x)
    if not self.num_outputs:
      return x.astype(jnp.float32)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_outputs, dtype=self.dtype, name='predictions')(x).astype(jnp.float32)


def _flax_path(keras_name: str) -> tuple[str, ...]:
  match = _KERAS_BLOCK.match(keras_name)
  return (match[1], match[2]) if match else (keras_name,)


def variables_from_keras(keras_model: Any) -> dict[str, dict[str, Any]]:
  """`{'params', 'batch_stats'}` for `MobileNetV2` from a `keras.applications.MobileNetV2` (any weights, top or not)."""
  params, batch_stats = {}, {}
  for layer in keras_model.layers:
    weights = [np.asarray(w) for w in layer.get_weights()]
    if not weights:
      continue
    path = _flax_path(layer.name)
    kind = type(layer).__name__
    if kind == 'DepthwiseConv2D':  # Keras (3, 3, C, 1) is a grouped convolution's (3, 3, 1, C).
      leaves = {'params': {'kernel': weights[0].transpose(0, 1, 3, 2)}}
    elif kind in ('Conv2D', 'Dense'):
      leaves = {'params': dict(zip(('kernel', 'bias'), weights))}
    elif kind == 'BatchNormalization':
      gamma, beta, mean, var = weights
      leaves = {'params': {'scale': gamma, 'bias': beta}, 'batch_stats': {'mean': mean, 'var': var}}
    else:
      raise ValueError(f'Keras layer {layer.name!r} ({kind}) has weights this converter does not know.')
    for collection, values in leaves.items():
      node = (params if collection == 'params' else batch_stats)
      for key in path:
        node = node.setdefault(key, {})
      node.update({k: jnp.asarray(v) for k, v in values.items()})
  return {'params': params, 'batch_stats': batch_stats}
