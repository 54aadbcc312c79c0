"""On x86 CPUs without AVX-512 XLA:CPU computes convolutions with its own kernels, unless `XLA_FLAGS` choose."""

import importlib.metadata
import os
import subprocess
import sys

import pytest

from deeplearn.core import xla_cpu
from tests.conftest import xla_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YNNPACK_CONVOLUTIONS = '--xla_cpu_experimental_ynn_fusion_type=+individual_convolution'
COMPILE_A_CONVOLUTION = '''
import os, deeplearn, jax, jax.numpy as jnp
x, kernel = jnp.ones((64, 16, 16, 32)), jnp.ones((5, 5, 32, 64))
conv = lambda x, kernel: jax.lax.conv_general_dilated(x, kernel, (1, 1), 'SAME',
                                                      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
print(os.environ['XLA_FLAGS'])
print('__ynn_fusion' in jax.jit(conv).lower(x, kernel).compile().as_text())
'''


@pytest.mark.parametrize('flags, lacks_avx512', [
    ('fpu vme avx avx2 fma bmi2', True),
    ('fpu vme avx avx2 fma avx512f avx512dq avx512bw', False),
    ('fp asimd evtstrm aes', False),  # Not x86.
])
def test_lacks_avx512_reads_the_cpus_flags(tmp_path, flags, lacks_avx512):
  cpuinfo = tmp_path / 'cpuinfo'
  cpuinfo.write_text(f'processor\t: 0\nmodel name\t: A CPU\nflags\t\t: {flags}\n')
  assert xla_cpu.lacks_avx512(str(cpuinfo)) == lacks_avx512
  assert not xla_cpu.lacks_avx512(str(tmp_path / 'no_such_file'))


@pytest.mark.parametrize('lacks_avx512, jaxlib, flags, expected', [
    (True, '0.10.2', '', xla_cpu.OWN_CONVOLUTIONS),
    (True, '0.10.2', '--xla_cpu_enable_fast_math=false',
     f'--xla_cpu_enable_fast_math=false {xla_cpu.OWN_CONVOLUTIONS}'),
    (True, '0.10.2', YNNPACK_CONVOLUTIONS, YNNPACK_CONVOLUTIONS),  # The user's choice wins.
    (False, '0.10.2', '', ''),
    (True, '0.11.0', '', ''),  # A jaxlib that may not know the option.
])
def test_own_convolutions_are_asked_for_where_avx512_is_missing(monkeypatch, lacks_avx512, jaxlib, flags, expected):
  monkeypatch.setattr(xla_cpu, 'lacks_avx512', lambda: lacks_avx512)
  monkeypatch.setattr(importlib.metadata, 'version', lambda package: {'jaxlib': jaxlib}[package])
  monkeypatch.setenv('XLA_FLAGS', flags)
  xla_cpu.use_own_convolutions()
  assert os.environ['XLA_FLAGS'] == expected


def test_importing_deeplearn_is_enough_for_a_convolution_to_compile_to_the_kernels_chosen():
  result = subprocess.run([sys.executable, '-c', COMPILE_A_CONVOLUTION], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, XLA_FLAGS=xla_flags()), timeout=120)
  assert result.returncode == 0, result.stderr[-3000:]
  *_, flags, by_ynnpack = result.stdout.splitlines()
  chosen = xla_cpu.lacks_avx512() and xla_cpu.jaxlib_knows_the_option()
  assert (xla_cpu.OWN_CONVOLUTIONS in flags) == chosen
  if chosen:
    assert by_ynnpack == 'False'
