"""Convolutional image models: the course notebooks' originals and a stronger VGG-style classifier."""

import flax.linen as nn
import jax
import jax.numpy as jnp

from deeplearn.models.layers import Im2ColConv


class OriginalCNN(nn.Module):
  """The course notebooks' CNN: two strided convolutions (8 and 16 filters) and three dense layers.

  The MNIST notebook used 3x3 kernels at stride 2; the age notebook 5x5 at stride 4, with one output.
  """
  num_classes: int = 10
  dropout_rate: float = 0.0
  kernel_size: int = 3
  stride: int = 2

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    kernel, strides = (self.kernel_size, self.kernel_size), (self.stride, self.stride)
    x = nn.relu(Im2ColConv(8, kernel, strides=strides, padding='VALID')(x))
    x = nn.relu(Im2ColConv(16, kernel, strides=strides, padding='VALID')(x))
    x = x.reshape((x.shape[0], -1))
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    x = nn.relu(nn.Dense(128)(x))
    x = nn.relu(nn.Dense(64)(x))
    self.sow('intermediates', 'features', x)
    return nn.Dense(self.num_classes)(x)


class ConvBlock(nn.Module):
  """Two 3x3 convolutions with BatchNorm and ReLU, then 2x2 max-pooling."""
  features: int

  @nn.compact
  def __call__(self, x: jax.Array, train: bool) -> jax.Array:
    for _ in range(2):
      x = Im2ColConv(self.features, (3, 3), use_bias=False)(x)
      x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
      x = nn.relu(x)
    return nn.max_pool(x, (2, 2), strides=(2, 2))


class StrongCNN(nn.Module):
  """A small VGG-style network: ConvBlocks of growing width, then a head.

  With `head_features == 0` the head is global average pooling and one linear layer; otherwise the
  features are flattened into a hidden dense layer of that width, which adds capacity at little cost.
  """
  num_classes: int = 10
  widths: tuple[int, ...] = (16, 32, 64)
  dropout_rate: float = 0.3
  head_features: int = 0

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    for width in self.widths:
      x = ConvBlock(width)(x, train)
    if self.head_features:
      x = nn.relu(nn.Dense(self.head_features)(x.reshape((x.shape[0], -1))))
    else:
      x = jnp.mean(x, axis=(1, 2))
    self.sow('intermediates', 'features', x)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(self.num_classes)(x)
