"""A small residual network for image regression and classification."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from deeplearn.models.layers import Conv


class ResidualBlock(nn.Module):
  """Two 3x3 convolutions with BatchNorm, added to the (projected when shapes differ) input."""
  features: int
  strides: int = 1
  dtype: jnp.dtype = jnp.float32
  conv: str = 'auto'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.9, dtype=self.dtype)
    conv = functools.partial(Conv, self.features, use_bias=False, dtype=self.dtype, formulation=self.conv)
    strides = (self.strides, self.strides)
    y = nn.relu(norm()(conv((3, 3), strides)(x)))
    y = norm(scale_init=nn.initializers.zeros)(conv((3, 3))(y))
    if x.shape != y.shape:
      x = norm()(conv((1, 1), strides)(x))
    return nn.relu(x + y)


class ResNet(nn.Module):
  """A stride-2 stem, then stages of residual blocks (each after the first halves the resolution), pooled.

  Every block starts as the identity (its last BatchNorm scale is zero), which keeps early training stable.
  """
  num_outputs: int
  widths: tuple[int, ...] = (32, 64, 128, 256)
  blocks_per_stage: int = 1
  dropout_rate: float = 0.0
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters and outputs stay float32.
  conv: str = 'auto'  # How convolutions compute: 'matmul', 'native' or 'auto' (`layers.py`).

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    x = Conv(self.widths[0], (3, 3), strides=(2, 2), use_bias=False, dtype=self.dtype, formulation=self.conv)(x)
    x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype)(x))
    for stage, width in enumerate(self.widths):
      for block in range(self.blocks_per_stage):
        x = ResidualBlock(width, 2 if stage > 0 and block == 0 else 1, self.dtype, self.conv)(x, train)
    x = jnp.mean(x, axis=(1, 2))
    self.sow('intermediates', 'features', x)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_outputs, dtype=self.dtype)(x).astype(jnp.float32)
