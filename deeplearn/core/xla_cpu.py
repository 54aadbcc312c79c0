"""XLA:CPU's own convolution kernels instead of YNNPACK's on x86 CPUs without AVX-512, where YNNPACK's ran slower."""

import importlib.metadata
import os

_YNN_FUSION_TYPE = '--xla_cpu_experimental_ynn_fusion_type'
OWN_CONVOLUTIONS = f'{_YNN_FUSION_TYPE}=-individual_convolution'
# The jaxlib releases whose XLA knows the option: an option XLA does not know aborts every program.
KNOWN_TO_JAXLIB = ('0.10.',)


def lacks_avx512(cpuinfo: str = '/proc/cpuinfo') -> bool:
  """Whether this is an x86 CPU without AVX-512, as Linux lists its flags; False where that cannot be read."""
  try:
    with open(cpuinfo, encoding='utf-8') as file:
      flags = next((line for line in file if line.startswith('flags')), '')
  except OSError:
    return False
  return ' avx2' in flags and ' avx512f' not in flags


def jaxlib_knows_the_option() -> bool:
  return importlib.metadata.version('jaxlib').startswith(KNOWN_TO_JAXLIB)


def use_own_convolutions() -> None:
  """On an x86 CPU without AVX-512, has XLA:CPU compute convolutions with its own kernels (`OWN_CONVOLUTIONS`).

  From jax 0.10 XLA:CPU hands convolutions to YNNPACK by default. On a 2-core AVX2 CPU its kernels computed a
  3x3 convolution's gradient up to 12x slower than XLA's own, and the DCGAN's, the MNIST CNN's and the age
  ResNet's steps ran 25-29% faster without them (docs/results.md). AVX-512 CPUs, where the per-layer rule of
  `models/layers.py` was measured with YNNPACK's kernels, keep jax's default. XLA reads `XLA_FLAGS` at its first
  compilation, so this must run before it (importing `deeplearn` does); flags that already name the option win.
  The option is experimental: jaxlib releases other than `KNOWN_TO_JAXLIB` keep jax's default.
  """
  flags = os.environ.get('XLA_FLAGS', '')
  if _YNN_FUSION_TYPE not in flags and lacks_avx512() and jaxlib_knows_the_option():
    os.environ['XLA_FLAGS'] = f'{flags} {OWN_CONVOLUTIONS}'.strip()
