"""Convolutions with `flax.linen.Conv`'s and `ConvTranspose`'s parameters, computed natively or as matmuls.

XLA:CPU's native kernels for the few-channel convolutions of small image models, and above all
their kernel gradients (worst for strided transposed convolutions), run far below the matmul peak:
there the layers compute as one matmul over gathered patches (im2col), whose gradients are matmuls
too. On GPUs and TPUs im2col would materialise a patch tensor 9x (3x3) to 25x (5x5) the input and
bypass the native convolution, so there they call it. `formulation` picks: 'matmul', 'native', or
'auto' (matmul on CPU, but for an image's first layer at a large stride; native elsewhere). The
parameters are the same either way, named as flax's (`Conv_0`, `ConvTranspose_0`): a checkpoint
written with one formulation restores into the other.
"""

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


def conv_as_matmul(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
                   pads: Sequence[tuple[int, int]]) -> jax.Array:
  """`lax.conv_general_dilated` (NHWC, HWIO) as strided slices, one concatenation and one matmul."""
  kh, kw, _, features = kernel.shape
  sh, sw = strides
  x = jnp.pad(x, ((0, 0), *pads, (0, 0)))
  out_h, out_w = (x.shape[1] - kh) // sh + 1, (x.shape[2] - kw) // sw + 1
  patches = jnp.concatenate(
      [x[:, i:i + sh * (out_h - 1) + 1:sh, j:j + sw * (out_w - 1) + 1:sw, :]
       for i in range(kh) for j in range(kw)], axis=-1)
  return patches @ kernel.reshape(-1, features)


FORMULATIONS = ('auto', 'matmul', 'native')
_DIMENSIONS = ('NHWC', 'HWIO', 'NHWC')


def uses_matmul(formulation: str, in_channels: int, strides: Sequence[int]) -> bool:
  """Whether `formulation` computes a convolution as a matmul on the default backend.

  'auto' on CPU computes natively only a convolution of an image's few channels at a stride of 4 or more (the
  age notebook's first layer): as im2col it is 25 slices of 3 channels each, and it measured 12-28% faster
  natively (docs/results.md); the other first layers measured as fast as matmuls or faster.
  """
  if formulation not in FORMULATIONS:
    raise ValueError(f'conv formulation {formulation!r} is not one of {FORMULATIONS}')
  if formulation != 'auto':
    return formulation == 'matmul'
  return jax.default_backend() == 'cpu' and not (in_channels <= 3 and min(strides) >= 4)


class Conv(nn.Module):
  """`nn.Conv` (same fields used here, same `kernel` and `bias`), natively or by `conv_as_matmul`."""
  features: int
  kernel_size: tuple[int, int] = (3, 3)
  strides: tuple[int, int] = (1, 1)
  padding: str = 'SAME'
  use_bias: bool = True
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  dtype: jnp.dtype = jnp.float32  # What it computes in; its parameters stay float32.
  formulation: str = 'auto'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param('kernel', self.kernel_init, (*self.kernel_size, x.shape[-1], self.features))
    pads = jax.lax.padtype_to_pads(x.shape[1:3], self.kernel_size, self.strides, self.padding)
    x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    if uses_matmul(self.formulation, x.shape[-1], self.strides):
      y = conv_as_matmul(x, kernel, self.strides, pads)
    else:
      y = jax.lax.conv_general_dilated(x, kernel, self.strides, pads, dimension_numbers=_DIMENSIONS)
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,)).astype(self.dtype)
    return y


def _phase_taps(size: int, stride: int) -> tuple[np.ndarray, int]:
  """Which kernel tap feeds which input offset, per output phase, for a 'SAME' transposed convolution.

  Output `o = stride * q + r` reads input `q + d` through tap `k` when `r + k - pad == stride * d`, with
  `pad` the front padding `lax.conv_transpose` gives the stride-dilated input. Returns a 0/1 array
  `[phase r, offset d - first offset, tap k]` and the first offset.
  """
  pad_len = size + stride - 2
  pad = size - 1 if stride > size - 1 else int(np.ceil(pad_len / 2))
  offsets = {(r, k): (r + k - pad) // stride for r in range(stride) for k in range(size)
             if (r + k - pad) % stride == 0}
  first, last = min(offsets.values()), max(offsets.values())
  taps = np.zeros((stride, last - first + 1, size), np.float32)
  for (r, k), d in offsets.items():
    taps[r, d - first, k] = 1.0
  return taps, first


class ConvTranspose(nn.Module):
  """`nn.ConvTranspose` with padding 'SAME' (same `kernel`, no bias), natively or as a sub-pixel convolution.

  As matmuls, each of the `stride**2` output phases is a stride-1 convolution of the undilated input
  with the kernel taps that reach it; the phases' kernels are stacked along the output channels, so
  the zeros of the dilated input are never multiplied, and a pixel shuffle interleaves the phases.
  """
  features: int
  kernel_size: tuple[int, int] = (5, 5)
  strides: tuple[int, int] = (2, 2)
  kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()
  dtype: jnp.dtype = jnp.float32  # What it computes in; its parameters stay float32.
  formulation: str = 'auto'

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    (kh, kw), (sh, sw) = self.kernel_size, self.strides
    kernel = self.param('kernel', self.kernel_init, (kh, kw, x.shape[-1], self.features))
    x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    if not uses_matmul(self.formulation, x.shape[-1], self.strides):
      return jax.lax.conv_transpose(x, kernel, self.strides, 'SAME', dimension_numbers=_DIMENSIONS)
    taps_h, first_h = _phase_taps(kh, sh)
    taps_w, first_w = _phase_taps(kw, sw)
    # [offset_h, offset_w, in, (phase_h, phase_w, out)]
    phase_kernel = jnp.einsum('adk,bel,klio->deiabo', taps_h.astype(self.dtype), taps_w.astype(self.dtype), kernel)
    dh, dw = phase_kernel.shape[:2]
    phase_kernel = phase_kernel.reshape(dh, dw, x.shape[-1], sh * sw * self.features)
    pads = ((-first_h, dh - 1 + first_h), (-first_w, dw - 1 + first_w))
    y = conv_as_matmul(x, phase_kernel, (1, 1), pads)
    n, h, w, _ = y.shape
    y = y.reshape(n, h, w, sh, sw, self.features).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(n, h * sh, w * sw, self.features)
