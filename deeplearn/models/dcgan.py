"""The DCGAN generator and discriminator of the TensorFlow tutorial, for 28x28 greyscale images."""

import flax.linen as nn
import jax
import jax.numpy as jnp

from deeplearn.models.layers import Conv, ConvTranspose

# Keras' default initialiser, which the original's layers used; flax's lecun_normal draws the
# discriminator's first 5x5x1 kernel about six times larger.
_init = nn.initializers.glorot_uniform()


class Generator(nn.Module):
  """Noise to a 28x28x1 image in [-1, 1]: a dense 7x7 map, then transposed convolutions (5x5, 'SAME', no bias) up to 28x28.

  `features` are the widths of the 7x7 map and of the two upsampling stages before the image.
  """
  features: tuple[int, int, int] = (256, 128, 64)
  kernel_size: int = 5
  leaky_slope: float = 0.3  # Keras' LeakyReLU default, as the original used.
  batch_norm_momentum: float = 0.99  # Keras' BatchNormalization default.
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters and outputs stay float32.
  conv: str = 'auto'  # How convolutions compute: 'matmul', 'native' or 'auto' (`layers.py`).

  @nn.compact
  def __call__(self, noise: jax.Array, train: bool = False) -> jax.Array:
    norm = lambda x: nn.BatchNorm(use_running_average=not train, momentum=self.batch_norm_momentum,
                                  epsilon=1e-3, dtype=self.dtype)(x)
    act = lambda x: nn.leaky_relu(x, self.leaky_slope)
    up = lambda features, stride: ConvTranspose(features, (self.kernel_size, self.kernel_size), (stride, stride),
                                                _init, self.dtype, self.conv)
    x = act(norm(nn.Dense(7 * 7 * self.features[0], use_bias=False, kernel_init=_init, dtype=self.dtype)(noise)))
    x = x.reshape((-1, 7, 7, self.features[0]))
    x = act(norm(up(self.features[1], 1)(x)))
    x = act(norm(up(self.features[2], 2)(x)))
    return jnp.tanh(up(1, 2)(x)).astype(jnp.float32)


class Discriminator(nn.Module):
  """An image to one real-vs-generated logit: two strided convolutions with dropout, then a linear layer."""
  features: tuple[int, int] = (64, 128)
  kernel_size: int = 5
  leaky_slope: float = 0.3
  dropout_rate: float = 0.3
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters and outputs stay float32.
  conv: str = 'auto'  # How convolutions compute: 'matmul', 'native' or 'auto' (`layers.py`).

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False) -> jax.Array:
    x = images
    for width in self.features:
      x = Conv(width, (self.kernel_size, self.kernel_size), (2, 2), 'SAME', kernel_init=_init, dtype=self.dtype,
               formulation=self.conv)(x)
      x = nn.leaky_relu(x, self.leaky_slope)
      x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
    return nn.Dense(1, kernel_init=_init, dtype=self.dtype)(x.reshape((x.shape[0], -1)))[:, 0].astype(jnp.float32)
