"""launch/: the Colab notebook is well formed, and the shell scripts parse and build the commands they say."""

import importlib.util
import os
import re
import subprocess
import sys
import time

import jax
import nbclient
import nbformat
import numpy as np
import pytest

from deeplearn.core import checkpoints, history, runs
from deeplearn.data import datasets
from tests.conftest import NUM_TEST, NUM_TRAIN, override_flags, train_as_the_command_would

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_notebook(tmp_path, **parameters) -> nbformat.NotebookNode:
  """`launch/colab.ipynb` executed top to bottom in a fresh kernel, its parameters cell set to `parameters`."""
  notebook = nbformat.read(os.path.join(ROOT, 'launch', 'colab.ipynb'), as_version=4)
  cell = next(cell for cell in notebook.cells if cell.source.lstrip().startswith('# The run.'))
  cell.source = '\n'.join(f'{name} = {value!r}' for name, value in parameters.items())
  client = nbclient.NotebookClient(notebook, timeout=600, kernel_name='python3',
                                   resources={'metadata': {'path': str(tmp_path)}})
  client.execute()
  return notebook


def colab_parameters(tmp_path, **changes) -> dict[str, str]:
  """The notebook's run on this machine: the project where it is, the regression warm-up for a few steps."""
  return dict(REPO=ROOT, ACCELERATOR='cpu', CONFIG='configs/regression.py', WORKDIR=str(tmp_path / 'run'),
              DATA_DIR=str(tmp_path / 'tfds'), MANUAL_DIR='',
              OVERRIDES='--config.num_train_steps=40 --config.eval_every_steps=20 --config.checkpoint_every_steps=20') | changes


def test_colab_notebook_runs_top_to_bottom_and_shows_the_runs_images(tmp_path):
  notebook = run_notebook(tmp_path, **colab_parameters(tmp_path))
  assert checkpoints.saved_steps(str(tmp_path / 'run')) == [20, 40]
  last = notebook.cells[-1].outputs
  assert [output['data']['image/png'] for output in last if output.get('output_type') == 'display_data']
  assert f"{tmp_path / 'run' / 'images' / 'fit_00000040.png'}" in ''.join(o.get('text', '') for o in last)


@pytest.mark.parametrize('changes,message', [
    (dict(REPO='https://github.com/OWNER/deeplearn.git'), 'Set REPO in the cell above'),
    (dict(ACCELERATOR='tpu'), 'This runtime has no TPU (JAX sees cpu)'),
    (dict(CONFIG='configs/age.py'), 'configs/age.py needs UTKFace: set MANUAL_DIR'),
])
def test_colab_notebook_stops_with_a_clear_message(tmp_path, changes, message):
  with pytest.raises(nbclient.exceptions.CellExecutionError, match=re.escape(message)):
    run_notebook(tmp_path, **colab_parameters(tmp_path, **changes))
  assert not (tmp_path / 'run').exists()


@pytest.mark.parametrize('script', ['local_processes.sh', 'tpu_pod.sh', 'prepare_data.sh'])
def test_scripts_parse_and_without_arguments_print_their_usage(script):
  path = os.path.join(ROOT, 'launch', script)
  subprocess.run(['bash', '-n', path], check=True)
  assert os.access(path, os.X_OK)
  result = subprocess.run([path], cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, TPU_NAME='pod', ZONE='zone-a'))
  assert result.returncode != 0 and 'usage:' in result.stderr


def test_prepare_data_builds_both_datasets_offline_from_the_raw_files(raw_dirs, tmp_path):
  raw = os.path.dirname(raw_dirs['mnist'])  # Holds mnist/ and fashion_mnist/, as ../shared/data does.
  # The script's processes read the fixtures' example counts, as the tests' own builds do (conftest).
  (tmp_path / 'site').mkdir()
  (tmp_path / 'site' / 'sitecustomize.py').write_text(
      'from tensorflow_datasets.image_classification import mnist\n'
      f'mnist._TRAIN_EXAMPLES, mnist._TEST_EXAMPLES = {NUM_TRAIN}, {NUM_TEST}\n')
  result = subprocess.run(['launch/prepare_data.sh', raw, str(tmp_path / 'tfds')], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, PYTHONPATH=f'{tmp_path / "site"}:{ROOT}'))
  assert result.returncode == 0, result.stderr[-2000:]
  said = [line for line in result.stdout.splitlines() if line.startswith('prepared ')]
  assert said == [f'prepared {name} in {tmp_path / "tfds"}' for name in ('mnist', 'fashion_mnist')]
  for name in ('mnist', 'fashion_mnist'):
    loaded = datasets.load_split(name, 'train', data_dir=str(tmp_path / 'tfds'), manual_dir='')
    assert len(loaded['label']) == NUM_TRAIN


def test_tpu_pod_script_starts_a_detached_run_on_every_worker_and_reports_and_stops_it(tmp_path):
  """A stand-in gcloud runs each command as a worker would (its own home folder), and a stand-in python3 trains."""
  bin_dir, home = tmp_path / 'bin', tmp_path / 'worker'
  bin_dir.mkdir()
  (home / 'deeplearn').mkdir(parents=True)
  (bin_dir / 'gcloud').write_text('#!/bin/sh\nfor arg; do case "$arg" in --command=*) command="${arg#--command=}";; esac; done\n'
                                  f'cd {home} && HOME={home} exec sh -c "$command"\n')
  (bin_dir / 'python3').write_text('#!/bin/sh\necho "training: $*"\ntrap \'echo "stopping: SIGTERM"; exit 0\' TERM\n'
                                   'while true; do sleep 0.1; done\n')
  for tool in ('gcloud', 'python3'):
    (bin_dir / tool).chmod(0o755)
  env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', TPU_NAME='pod', ZONE='zone-a')
  pod = lambda *args: subprocess.run(['launch/tpu_pod.sh', *args], cwd=ROOT, env=env, capture_output=True,
                                     text=True, check=True, timeout=30).stdout

  assert 'started, log in' in pod('--config=configs/mnist.py', '--workdir=gs://b/run 1')  # Returns at once ...
  time.sleep(0.5)
  status = pod('status')  # ... while the run goes on, detached.
  assert ': running' in status
  assert 'training: -m deeplearn.main --distributed --config=configs/mnist.py --workdir=gs://b/run 1' in status
  assert 'asked to stop' in pod('stop')
  time.sleep(0.5)
  assert ': not running' in pod('status')
  assert (home / 'deeplearn_run.log').read_text().splitlines()[-1] == 'stopping: SIGTERM'


NO_TENSORFLOW = '''import sys


class Blocker:  # As on a machine where TensorFlow and TFDS are not installed.
  def find_spec(self, name, path=None, target=None):
    if name.split('.')[0] in ('tensorflow', 'tensorflow_datasets'):
      raise ImportError(f'No module named {name!r}')


sys.meta_path.insert(0, Blocker())
'''


def test_synthetic_bench_times_a_config_where_tensorflow_cannot_be_imported(tmp_path):
  (tmp_path / 'sitecustomize.py').write_text(NO_TENSORFLOW)
  env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{ROOT}')
  blocked = subprocess.run([sys.executable, '-c', 'import tensorflow'], env=env, capture_output=True, text=True)
  assert 'No module named' in blocked.stderr
  result = subprocess.run([sys.executable, 'launch/synthetic_bench.py', '--config=configs/mnist_original.py',
                           '--windows=1', '--window_seconds=0.2'], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  rates = dict(re.findall(r'\| (train step alone|whole loop) \| ([\d,]+) \|', result.stdout))
  assert set(rates) == {'train step alone', 'whole loop'} and all(int(r.replace(',', '')) > 0 for r in rates.values())


def test_conv_bench_times_every_convolution_of_a_config_in_each_formulation():
  result = subprocess.run([sys.executable, 'launch/conv_bench.py', '--config=configs/dcgan.py', '--repeats=1',
                           '--config.batch_size=2', "--config.generator.features=(8,4,4)",
                           "--config.discriminator.features=(4,8)"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line.split('|')[1:-1] for line in result.stdout.splitlines() if line.startswith('| Conv')]
  # The generator's three transposed convolutions (three formulations), the discriminator's two (two).
  assert [row[0].split()[0] for row in rows] == ['ConvTranspose'] * 3 + ['Conv'] * 2
  for row in rows:
    timed = [cell for cell in row[1:4] if cell.strip()]
    assert len(timed) == (3 if row[0].startswith(' ConvTranspose') else 2)
    assert all(re.fullmatch(r' [\d.]+ / [\d.]+ ', cell) for cell in timed)
    assert row[4].strip() in ('matmul', 'native', 'subpixel')


def test_step_profile_lists_the_step_s_costliest_operations_with_the_model_code_behind_them():
  result = subprocess.run([sys.executable, 'launch/step_profile.py', '--config=configs/mnist_original.py', '--steps=2',
                           '--top=40', '--config.batch_size=8'], cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert re.search(r'original_cnn, batch 8, backend cpu: step [\d.]+ ms wall', result.stdout)
  rows = [line.split(' | ') for line in result.stdout.splitlines() if line.startswith('| ') and '---' not in line][1:]
  milliseconds = [float(row[1]) for row in rows]
  assert rows and milliseconds[0] > 0 and milliseconds == sorted(milliseconds, reverse=True)
  assert any(re.search(r'OriginalCNN\)/Conv_[01]/', row[2]) for row in rows)  # Traced back to the model's layers.


def test_offline_arrays_train_as_the_tfds_run_does_where_tensorflow_cannot_be_imported(data_dir, tmp_path):
  """Splits exported here, a run there without TensorFlow: the same parameters as the run that read TFDS."""
  spec = importlib.util.spec_from_file_location('offline_arrays', os.path.join(ROOT, 'launch', 'offline_arrays.py'))
  offline_arrays = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(offline_arrays)
  offline_arrays.export('mnist', ['train[:90%]', 'train[90%:]', 'test'], data_dir, '', str(tmp_path / 'arrays'))
  (tmp_path / 'sitecustomize.py').write_text(NO_TENSORFLOW)
  overrides = {'data_dir': data_dir, 'batch_size': 8, 'num_train_steps': 4, 'eval_every_steps': 2,
               'eval_batch_size': 8}
  env = dict(os.environ, PYTHONPATH=f'{tmp_path}{os.pathsep}{ROOT}')
  offline = subprocess.run([sys.executable, 'launch/offline_arrays.py', 'train', str(tmp_path / 'arrays'),
                            f'--workdir={tmp_path / "offline"}', '--config=configs/mnist_original.py',
                            *override_flags(overrides)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert offline.returncode == 0, offline.stderr[-3000:]
  train_as_the_command_would('configs/mnist_original.py', overrides, tmp_path / 'tfds')  # Reading TFDS, here.
  offline_run, reference = runs.load(str(tmp_path / 'offline')), runs.load(str(tmp_path / 'tfds'))
  assert offline_run.step == reference.step == 4
  jax.tree.map(np.testing.assert_array_equal, offline_run.variables, reference.variables)
  scalars = history.read_scalars(str(tmp_path / 'offline'))  # Written by TensorBoard's TensorFlow-free writer.
  assert scalars['eval/accuracy'] == history.read_scalars(str(tmp_path / 'tfds'))['eval/accuracy']
  assert [step for step, _ in scalars['test/accuracy']] == [4]
