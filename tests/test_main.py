"""The command line: bad overrides and missing data are one clear error before any work."""

import importlib
import os
import pkgutil
import subprocess
import sys

import pytest

import deeplearn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_main(*args, config='configs/mnist.py', timeout=120):
  """The command as a user types it, on a machine whose TensorFlow prints its start-up notices (oneDNN's)."""
  return subprocess.run([sys.executable, '-m', 'deeplearn.main', f'--config={config}', *args],
                        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                        env=dict(os.environ, TF_ENABLE_ONEDNN_OPTS='1'))


@pytest.mark.parametrize('override,message', [
    ('--config.batch_sise=64', 'an override names a config field that does not exist: batch_sise '
                               'Did you mean "batch_size" instead of "batch_sise"?'),
    ('--config.batch_size=sixty', "flag --config.batch_size=sixty: invalid literal for int() with base 10: 'sixty'"),
    ('--config.batch_size=0', 'config.batch_size=0, but it must be positive; set --config.batch_size to a value >= 1.'),
    ('--config.model.widths=(16,0)', 'config.model.widths=(16, 0), but it must be positive; '
                                     'set --config.model.widths to a value >= 1.'),
    ('--config.eval_every_steps=-5', 'config.eval_every_steps=-5, but it must be positive; '
                                     'set --config.eval_every_steps to a value >= 1.'),
    ('--config.cpu_convolutions=eigen', "config.cpu_convolutions='eigen' is not one of ('auto', 'xla', 'ynnpack'); "
                                        'set --config.cpu_convolutions to one of them.'),
])
def test_bad_override_is_one_clear_error_before_any_work(override, message, tmp_path):
  result = run_main(f'--workdir={tmp_path}', override)
  assert result.returncode != 0
  assert result.stderr.splitlines() == [f'error: {message}']
  assert not os.listdir(tmp_path)  # Nothing was started.


def test_a_config_file_that_is_not_there_or_does_not_load_is_one_clear_error(tmp_path):
  result = run_main(f'--workdir={tmp_path / "run"}', config='configs/mnsit.py')
  assert result.stderr.splitlines() == [
      'error: --config=configs/mnsit.py is not a file; name a config file such as configs/mnist.py.']
  (tmp_path / 'broken.py').write_text('def get_config(:\n')
  result = run_main(f'--workdir={tmp_path / "run"}', config=str(tmp_path / 'broken.py'))
  assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
  assert result.stderr.startswith('error: the --config file could not be loaded: SyntaxError')
  assert not (tmp_path / 'run').exists()


def test_a_workdir_that_is_a_file_is_one_clear_error(tmp_path):
  (tmp_path / 'notes.txt').write_text('mine')
  result = run_main(f'--workdir={tmp_path / "notes.txt"}')
  assert result.stderr.splitlines() == [
      f'error: --workdir={tmp_path / "notes.txt"} is a file; name a folder: a new one, or that of a run to continue.']
  assert (tmp_path / 'notes.txt').read_text() == 'mine'


def test_missing_dataset_offline_is_one_clear_error(tmp_path):
  (tmp_path / 'raw').mkdir()
  result = run_main(f'--workdir={tmp_path / "run"}', f'--config.data_dir={tmp_path / "tfds"}',
                    f'--config.manual_dir={tmp_path / "raw"}')
  assert result.returncode == 1
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith("error: Dataset 'mnist' is not prepared")
  assert 'TFDS can download' in last_line and 'Traceback' not in result.stderr


def test_every_module_imports_beside_the_others():
  """absl defines each flag name once per process: a test may import any entry points together (here, into the
  process that runs this test, beside whatever the tests before it imported)."""
  for module in pkgutil.walk_packages(deeplearn.__path__, 'deeplearn.'):
    importlib.import_module(module.name)


def test_missing_workdir_is_one_clear_error():
  result = subprocess.run([sys.executable, '-m', 'deeplearn.predict', '--image=face.jpg'],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 1
  assert 'Flag --workdir must have a value other than None' in result.stderr


def test_every_config_loads_from_any_directory_and_is_valid(tmp_path):
  """Configs that build on another load it by path: `--config=/abs/path/configs/X.py` works from anywhere."""
  code = ('import glob, sys\n'
          'from deeplearn.core import config\n'
          'for path in sorted(glob.glob(sys.argv[1] + "/configs/*.py")):\n'
          '  config.validate(config.from_file(path))\n'
          '  print(path)\n')
  result = subprocess.run([sys.executable, '-c', code, ROOT], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
  assert result.returncode == 0, result.stderr[-2000:]
  assert len(result.stdout.splitlines()) == len(os.listdir(os.path.join(ROOT, 'configs'))) >= 14
