"""Which kernels XLA:CPU convolves with: YNNPACK's (jax's default) or its own (`config.cpu_convolutions`)."""

import importlib.metadata
import os

from deeplearn.core.errors import UserError

_YNN_FUSION_TYPE = '--xla_cpu_experimental_ynn_fusion_type'
OWN_CONVOLUTIONS = f'{_YNN_FUSION_TYPE}=-individual_convolution'
# The jaxlib releases whose XLA knows the option: an option XLA does not know aborts every program.
KNOWN_TO_JAXLIB = ('0.10.',)
CHOICES = ('auto', 'xla', 'ynnpack')
# Whether the user's own `XLA_FLAGS` (as the process started) already choose: then they win.
_USER_CHOSE = _YNN_FUSION_TYPE in os.environ.get('XLA_FLAGS', '')


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


def use_convolutions(choice: str = 'auto') -> None:
  """Has XLA:CPU compute convolutions with its own kernels (`OWN_CONVOLUTIONS`) or YNNPACK's, as `choice` says.

  'xla' asks for XLA:CPU's own, 'ynnpack' for YNNPACK's (jax 0.10's default), and 'auto' for XLA's own on x86
  CPUs without AVX-512 and YNNPACK's elsewhere. Which is faster depends on the CPU and the model: on a 2-core
  AVX2 CPU XLA's own ran the DCGAN's, the MNIST CNN's and the age ResNet's steps 25-29% faster; on a 2-core
  AVX-512 CPU they ran the DCGAN's 16-20% faster and the age notebook's CNN's 24% slower (docs/results.md), so a
  config may choose. Importing `deeplearn` applies 'auto'; `deeplearn.main` and `deeplearn.bench` then apply the
  config's. XLA reads `XLA_FLAGS` when JAX starts its CPU backend, so this must run before that (tested).
  `XLA_FLAGS` that named the option when the process started win, and jaxlib releases other than `KNOWN_TO_JAXLIB`
  keep jax's default (the option is experimental). Accelerators ignore it.
  """
  if choice not in CHOICES:
    raise UserError(f'config.cpu_convolutions={choice!r} is not one of {CHOICES}; set --config.cpu_convolutions '
                    'to one of them.')
  if _USER_CHOSE or not jaxlib_knows_the_option():
    return
  flags = os.environ.get('XLA_FLAGS', '').replace(OWN_CONVOLUTIONS, '').split()
  if choice == 'xla' or (choice == 'auto' and lacks_avx512()):
    flags.append(OWN_CONVOLUTIONS)
  os.environ['XLA_FLAGS'] = ' '.join(flags)
