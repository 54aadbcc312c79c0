"""Convolutions with `flax.linen.Conv`'s and `ConvTranspose`'s parameters, computed natively or as matmuls.

On XLA:CPU the fastest way to compute a convolution depends on its shape: some run faster as one
matmul over gathered patches (im2col, 'matmul'), most natively, and strided transposed convolutions
far faster as sub-pixel convolutions ('subpixel': one stride-1 convolution per output phase, stacked,
so the zeros of the dilated input are never multiplied). On GPUs and TPUs im2col would materialise a
patch tensor 9x (3x3) to 25x (5x5) the input and bypass the native convolution, so there 'auto' calls
it. `formulation` picks per layer. The parameters are the same either way, named as flax's (`Conv_0`,
`ConvTranspose_0`): a checkpoint written with one formulation restores into the other.
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


_DIMENSIONS = ('NHWC', 'HWIO', 'NHWC')


def native_conv(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
                pads: Sequence[tuple[int, int]]) -> jax.Array:
  """`lax.conv_general_dilated` in NHWC and HWIO, as `conv_as_matmul` takes its arguments."""
  return jax.lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=_DIMENSIONS)


FORMULATIONS = ('auto', 'matmul', 'native', 'subpixel')


def candidates(layer: nn.Module) -> tuple[str, ...]:
  """The formulations that compute `layer` differently: 'subpixel' is 'native' for a plain convolution."""
  return FORMULATIONS[1:] if isinstance(layer, ConvTranspose) else ('matmul', 'native')


def formulation(requested: str, layer_type: type, in_shape: Sequence[int], kernel_size: Sequence[int],
                strides: Sequence[int]) -> str:
  """What `requested` computes a layer as on the default backend: 'matmul', 'native' or 'subpixel'.

  'auto' is 'native' on GPUs and TPUs. On CPU it follows `launch/conv_bench.py`'s measurements of every
  convolution in the shipped configs (docs/results.md): transposed convolutions as sub-pixel convolutions
  (XLA:CPU's own strided ones are several times slower); convolutions natively, but as a matmul over
  im2col's patches for 1x1 kernels, and for 3x3 ones on images of at most 3 channels or with outputs of at
  most 8x8 pixels.
  """
  if requested not in FORMULATIONS:
    raise ValueError(f'conv formulation {requested!r} is not one of {FORMULATIONS}')
  if requested != 'auto':
    return requested
  if jax.default_backend() != 'cpu':
    return 'native'
  if layer_type is ConvTranspose:
    return 'subpixel'
  height, width, channels = in_shape
  out_pixels = -(-height // strides[0]) * -(-width // strides[1])
  kernel_area = kernel_size[0] * kernel_size[1]
  small = kernel_area == 1 or (kernel_area <= 9 and (channels <= 3 or out_pixels <= 64))
  return 'matmul' if small else 'native'


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
    if formulation(self.formulation, Conv, x.shape[1:], self.kernel_size, self.strides) == 'matmul':
      y = conv_as_matmul(x, kernel, self.strides, pads)
    else:
      y = native_conv(x, kernel, self.strides, pads)
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

  As a sub-pixel convolution, each of the `stride**2` output phases is a stride-1 convolution of the
  undilated input with the kernel taps that reach it; the phases' kernels are stacked along the output
  channels, so the zeros of the dilated input are never multiplied, and a pixel shuffle interleaves the
  phases. That convolution runs natively ('subpixel') or as a matmul ('matmul').
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
    how = formulation(self.formulation, ConvTranspose, x.shape[1:], self.kernel_size, self.strides)
    if how == 'native':
      return jax.lax.conv_transpose(x, kernel, self.strides, 'SAME', dimension_numbers=_DIMENSIONS)
    taps_h, first_h = _phase_taps(kh, sh)
    taps_w, first_w = _phase_taps(kw, sw)
    # [offset_h, offset_w, in, (phase_h, phase_w, out)]
    phase_kernel = jnp.einsum('adk,bel,klio->deiabo', taps_h.astype(self.dtype), taps_w.astype(self.dtype), kernel)
    dh, dw = phase_kernel.shape[:2]
    phase_kernel = phase_kernel.reshape(dh, dw, x.shape[-1], sh * sw * self.features)
    pads = ((-first_h, dh - 1 + first_h), (-first_w, dw - 1 + first_w))
    y = (conv_as_matmul if how == 'matmul' else native_conv)(x, phase_kernel, (1, 1), pads)
    n, h, w, _ = y.shape
    y = y.reshape(n, h, w, sh, sw, self.features).transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(n, h * sh, w * sw, self.features)
