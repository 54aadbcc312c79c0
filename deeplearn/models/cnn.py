"""Convolutional image models: the course notebooks' originals and a stronger VGG-style classifier."""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp

from deeplearn.core.errors import UserError
from deeplearn.models.layers import Conv

KERNEL_INITIALIZERS = {
    'lecun_normal': nn.initializers.lecun_normal,  # Flax's default.
    'glorot_uniform': nn.initializers.glorot_uniform,  # Keras' default, which the notebooks had.
}


def kernel_initializer(name: str) -> nn.initializers.Initializer:
  """The weight initialiser called `name` in `KERNEL_INITIALIZERS`."""
  if name not in KERNEL_INITIALIZERS:
    raise UserError(f'config.model.kernel_init={name!r} is unknown; use one of {sorted(KERNEL_INITIALIZERS)}.')
  return KERNEL_INITIALIZERS[name]()


class OriginalCNN(nn.Module):
  """The course notebooks' CNN: two strided convolutions (8 and 16 filters) and three dense layers.

  The MNIST notebook used 3x3 kernels at stride 2; the age notebook 5x5 at stride 4, with one output
  through a ReLU (`relu_output`).
  """
  num_outputs: int = 10
  dropout_rate: float = 0.0
  kernel_size: int = 3
  stride: int = 2
  kernel_init: str = 'lecun_normal'  # A name in KERNEL_INITIALIZERS; Keras used glorot_uniform.
  relu_output: bool = False
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters and outputs stay float32.
  conv: str = 'auto'  # How convolutions compute: 'matmul', 'native' or 'auto' (`layers.py`).

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    kernel, strides = (self.kernel_size, self.kernel_size), (self.stride, self.stride)
    conv = functools.partial(Conv, kernel_size=kernel, strides=strides, padding='VALID',
                             kernel_init=kernel_initializer(self.kernel_init), dtype=self.dtype, formulation=self.conv)
    dense = functools.partial(nn.Dense, kernel_init=kernel_initializer(self.kernel_init), dtype=self.dtype)
    x = nn.relu(conv(8)(x))
    x = nn.relu(conv(16)(x))
    x = x.reshape((x.shape[0], -1))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    x = nn.relu(dense(128)(x))
    x = nn.relu(dense(64)(x))
    self.sow('intermediates', 'features', x)
    x = dense(self.num_outputs)(x)
    return (nn.relu(x) if self.relu_output else x).astype(jnp.float32)


class ConvBlock(nn.Module):
  """Two 3x3 convolutions with BatchNorm and ReLU, then 2x2 max-pooling."""
  features: int
  dtype: jnp.dtype = jnp.float32
  conv: str = 'auto'

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    for _ in range(2):
      x = Conv(self.features, (3, 3), use_bias=False, dtype=self.dtype, formulation=self.conv)(x)
      x = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype)(x)
      x = nn.relu(x)
    return nn.max_pool(x, (2, 2), strides=(2, 2))


class StrongCNN(nn.Module):
  """A small VGG-style network: ConvBlocks of growing width, then a head.

  With `head_features == 0` the head is global average pooling and one linear layer; otherwise the
  features are flattened into a hidden dense layer of that width, which adds capacity at little cost.
  """
  num_outputs: int = 10
  widths: tuple[int, ...] = (16, 32, 64)
  dropout_rate: float = 0.3
  head_features: int = 0
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters and outputs stay float32.
  conv: str = 'auto'  # How convolutions compute: 'matmul', 'native' or 'auto' (`layers.py`).

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    for width in self.widths:
      x = ConvBlock(width, self.dtype, self.conv)(x, train)
    if self.head_features:
      x = nn.relu(nn.Dense(self.head_features, dtype=self.dtype)(x.reshape((x.shape[0], -1))))
    else:
      x = jnp.mean(x, axis=(1, 2))
    self.sow('intermediates', 'features', x)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_outputs, dtype=self.dtype)(x).astype(jnp.float32)
