"""The command line: bad overrides and missing data are one clear error before any work."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_main(*args, timeout=120):
  return subprocess.run([sys.executable, '-m', 'deeplearn.main', '--config=configs/mnist.py', *args],
                        cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize('override,message', [
    ('--config.batch_sise=64', 'an override names a config field that does not exist: batch_sise '
                               'Did you mean "batch_size" instead of "batch_sise"?'),
    ('--config.batch_size=sixty', "flag --config.batch_size=sixty: invalid literal for int() with base 10: 'sixty'"),
])
def test_bad_override_is_one_clear_error_before_any_work(override, message, tmp_path):
  result = run_main(f'--workdir={tmp_path}', override)
  assert result.returncode != 0
  assert result.stderr.strip().splitlines() == [f'error: {message}']
  assert not os.listdir(tmp_path)  # Nothing was started.


def test_missing_dataset_offline_is_one_clear_error(tmp_path):
  (tmp_path / 'raw').mkdir()
  result = run_main(f'--workdir={tmp_path / "run"}', f'--config.data_dir={tmp_path / "tfds"}',
                    f'--config.manual_dir={tmp_path / "raw"}')
  assert result.returncode == 1
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith("error: Dataset 'mnist' is not prepared")
  assert 'TFDS can download' in last_line and 'Traceback' not in result.stderr


def test_every_module_imports_beside_the_others():
  """absl defines each flag name once per process: a test may import any entry points together."""
  code = ('import importlib, pkgutil, deeplearn\n'
          'for module in pkgutil.walk_packages(deeplearn.__path__, "deeplearn."):\n'
          '  importlib.import_module(module.name)\n')
  result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr


def test_missing_workdir_is_one_clear_error():
  result = subprocess.run([sys.executable, '-m', 'deeplearn.predict', '--image=face.jpg'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 1
  assert 'Flag --workdir must have a value other than None' in result.stderr
