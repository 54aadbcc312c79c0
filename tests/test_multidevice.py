"""Eight (virtual CPU) devices train as one does, and checkpoints move between device counts."""

import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = '''
import json, shutil, sys
import jax, numpy as np
from deeplearn.core import checkpoints
from deeplearn.core import train
from deeplearn.classification import defaults as classification_defaults
from tests.conftest import tiny_config
summaries = []
for run in json.loads(sys.argv[1]):  # Runs in order: [{"config": {...}, "workdir", "out", "copy_to"?}, ...]
  config = tiny_config(classification_defaults.classification_config(), **run['config'])
  summaries.append(train.train_and_evaluate(config, run['workdir']))
  params = checkpoints.create_manager(run['workdir'], 3).restore(None)['state']['params']
  np.savez(run['out'], *jax.tree.leaves(params))
  if run.get('copy_to'):
    shutil.copytree(run['workdir'], run['copy_to'])
print(json.dumps({'devices': jax.device_count(), 'summaries': summaries}))
'''


def run_on(devices, *runs):
  """Trains each run in turn in one process with `devices` devices; their summaries and final parameters."""
  env = dict(os.environ, XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}',
             PYTHONPATH=ROOT)
  runs = [{k: str(v) if k != 'config' else v for k, v in run.items()} for run in runs]
  result = subprocess.run([sys.executable, '-c', SCRIPT, json.dumps(runs)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  output = json.loads(result.stdout.strip().splitlines()[-1])
  assert output['devices'] == devices
  params = [[v for _, v in sorted(np.load(run['out']).items(), key=lambda kv: int(kv[0].split('_')[1]))]
            for run in runs]
  return output['summaries'], params


def test_eight_devices_give_what_one_gives_and_checkpoints_cross_device_counts(data_dir, tmp_path):
  config = dict(data_dir=data_dir)  # The strong CNN: BatchNorm and dropout, the hard case.
  longer = dict(config, num_train_steps=9)
  # On one device: 6 steps (a copy of that run is kept), then on to step 9.
  (one, _), (one_params, on_one) = run_on(
      1, dict(config=config, workdir=tmp_path / 'one', out=tmp_path / 'one.npz', copy_to=tmp_path / 'copy'),
      dict(config=longer, workdir=tmp_path / 'one', out=tmp_path / 'on_one.npz'))
  # On eight: the same 6 steps, then the one-device checkpoint at step 6 continued to step 9.
  (eight, _), (eight_params, on_eight) = run_on(
      8, dict(config=config, workdir=tmp_path / 'eight', out=tmp_path / 'eight.npz'),
      dict(config=longer, workdir=tmp_path / 'copy', out=tmp_path / 'on_eight.npz'))
  for a, b in zip(one_params, eight_params):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  assert abs(one['eval/loss'] - eight['eval/loss']) < 1e-4
  assert one['eval/accuracy'] == eight['eval/accuracy']
  for a, b in zip(on_one, on_eight):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  assert any(not np.allclose(a, b) for a, b in zip(one_params, on_eight))
