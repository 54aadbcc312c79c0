"""launch/: the Colab notebook is well formed, and the shell scripts parse and build the commands they say."""

import json
import os
import subprocess

import pytest

from deeplearn.data import datasets
from tests.conftest import NUM_TEST, NUM_TRAIN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_colab_notebook_cells_are_valid_python_and_run_main_with_the_chosen_config():
  with open(os.path.join(ROOT, 'launch', 'colab.ipynb')) as f:
    notebook = json.load(f)
  assert notebook['nbformat'] == 4
  sources = [''.join(cell['source']) for cell in notebook['cells'] if cell['cell_type'] == 'code']
  for source in sources:  # IPython's `!` and `%` lines aside, every cell is Python.
    compile('\n'.join(line for line in source.splitlines() if not line.lstrip().startswith(('!', '%'))),
            'cell', 'exec')
  everything = '\n'.join(sources)
  assert 'python -m deeplearn.main --config={CONFIG} --workdir={WORKDIR}' in everything
  assert '%tensorboard --logdir {WORKDIR}' in everything and 'drive.mount' in everything


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


def test_tpu_pod_script_runs_main_on_every_worker(tmp_path):
  fake_gcloud = tmp_path / 'gcloud'
  fake_gcloud.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
  fake_gcloud.chmod(0o755)
  env = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}', TPU_NAME='pod', ZONE='zone-a')
  result = subprocess.run(['launch/tpu_pod.sh', '--config=configs/mnist.py', '--workdir=gs://b/run 1'],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)
  assert result.stdout.splitlines() == [
      'compute', 'tpus', 'tpu-vm', 'ssh', 'pod', '--zone=zone-a', '--worker=all',
      r'--command=cd deeplearn && python3 -m deeplearn.main --distributed --config=configs/mnist.py '
      r'--workdir=gs://b/run\ 1 ']
