"""XLA:CPU computes convolutions with the kernels `config.cpu_convolutions` chooses, unless `XLA_FLAGS` choose."""

import importlib.metadata
import os
import subprocess
import sys

import pytest

from deeplearn.core import xla_cpu
from deeplearn.core.errors import UserError
from tests.conftest import xla_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YNNPACK_CONVOLUTIONS = '--xla_cpu_experimental_ynn_fusion_type=+individual_convolution'
COMPILE_A_CONVOLUTION = '''
import os, sys, deeplearn, jax, jax.numpy as jnp
from deeplearn.core import xla_cpu
from deeplearn.core.errors import UserError
if len(sys.argv) > 1:
  xla_cpu.use_convolutions(sys.argv[1])
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
def test_auto_asks_for_own_convolutions_where_avx512_is_missing(monkeypatch, lacks_avx512, jaxlib, flags, expected):
  monkeypatch.setattr(xla_cpu, 'lacks_avx512', lambda: lacks_avx512)
  monkeypatch.setattr(importlib.metadata, 'version', lambda package: {'jaxlib': jaxlib}[package])
  monkeypatch.setattr(xla_cpu, '_USER_CHOSE', xla_cpu._YNN_FUSION_TYPE in flags)  # As the process started.
  monkeypatch.setenv('XLA_FLAGS', flags)
  xla_cpu.use_convolutions('auto')
  assert os.environ['XLA_FLAGS'] == expected


@pytest.mark.parametrize('lacks_avx512', [True, False])
def test_a_configs_choice_replaces_autos_on_any_cpu(monkeypatch, lacks_avx512):
  monkeypatch.setattr(xla_cpu, 'lacks_avx512', lambda: lacks_avx512)
  monkeypatch.setattr(importlib.metadata, 'version', lambda package: {'jaxlib': '0.10.2'}[package])
  monkeypatch.setattr(xla_cpu, '_USER_CHOSE', False)
  monkeypatch.setenv('XLA_FLAGS', '--xla_cpu_enable_fast_math=false')
  xla_cpu.use_convolutions('auto')  # As importing deeplearn does.
  xla_cpu.use_convolutions('xla')
  assert os.environ['XLA_FLAGS'] == f'--xla_cpu_enable_fast_math=false {xla_cpu.OWN_CONVOLUTIONS}'
  xla_cpu.use_convolutions('ynnpack')
  assert os.environ['XLA_FLAGS'] == '--xla_cpu_enable_fast_math=false'


def test_an_unknown_choice_is_one_clear_error():
  with pytest.raises(UserError, match=r"config.cpu_convolutions='eigen' is not one of \('auto', 'xla', 'ynnpack'\)"):
    xla_cpu.use_convolutions('eigen')


def test_importing_deeplearn_is_enough_for_a_convolution_to_compile_to_the_kernels_chosen():
  result = subprocess.run([sys.executable, '-c', COMPILE_A_CONVOLUTION], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, XLA_FLAGS=xla_flags()), timeout=120)
  assert result.returncode == 0, result.stderr[-3000:]
  *_, flags, by_ynnpack = result.stdout.splitlines()
  chosen = xla_cpu.lacks_avx512() and xla_cpu.jaxlib_knows_the_option()
  assert (xla_cpu.OWN_CONVOLUTIONS in flags) == chosen
  if chosen:
    assert by_ynnpack == 'False'


@pytest.mark.skipif(not xla_cpu.jaxlib_knows_the_option(), reason='this jaxlib keeps jax\'s default kernels')
@pytest.mark.parametrize('choice, by_ynnpack', [('xla', 'False'), ('ynnpack', 'True')])
def test_the_choice_reaches_the_compiled_convolution(choice, by_ynnpack):
  """Before JAX starts its backend, as `deeplearn.main` applies the config's, on this machine's CPU whatever it is."""
  result = subprocess.run([sys.executable, '-c', COMPILE_A_CONVOLUTION, choice], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, XLA_FLAGS=xla_flags(), JAX_ENABLE_COMPILATION_CACHE='false'),
                          timeout=120)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.splitlines()[-1] == by_ynnpack
