"""launch/: the Colab notebook is well formed, and the shell scripts parse and build the commands they say."""

import json
import os
import subprocess

import pytest

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
def test_scripts_parse_and_say_what_they_need(script):
  path = os.path.join(ROOT, 'launch', script)
  subprocess.run(['bash', '-n', path], check=True)
  header = open(path).read().split('set -euo pipefail')[0]
  assert 'Needs:' in header and 'Example' in header
  assert os.access(path, os.X_OK)


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
