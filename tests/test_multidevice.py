"""Eight (virtual CPU) devices train as one does, and checkpoints move between device counts."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np

from tests.conftest import tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = '''
import json, sys
import jax, numpy as np
from deeplearn import checkpoints, defaults, train
from tests.conftest import tiny_config
config = tiny_config(defaults.classification_config(), **json.loads(sys.argv[1]))
summary = train.train_and_evaluate(config, sys.argv[2])
params = checkpoints.create_manager(sys.argv[2], 3).restore(None)['state']['params']
np.savez(sys.argv[3], *jax.tree.leaves(params))
print(json.dumps({'devices': jax.device_count(), **summary}))
'''


def run_on(devices, workdir, out, **config):
  env = dict(os.environ, XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}',
             PYTHONPATH=ROOT)
  result = subprocess.run([sys.executable, '-c', SCRIPT, json.dumps(config), str(workdir), str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  summary = json.loads(result.stdout.strip().splitlines()[-1])
  assert summary['devices'] == devices
  return summary, [v for _, v in sorted(np.load(out).items(), key=lambda kv: int(kv[0].split('_')[1]))]


def test_eight_devices_give_what_one_gives_and_checkpoints_cross_device_counts(data_dir, tmp_path):
  config = dict(data_dir=data_dir, model='strong_cnn')  # BatchNorm and dropout: the hard case.
  one, one_params = run_on(1, tmp_path / 'one', tmp_path / 'one.npz', **config)
  eight, eight_params = run_on(8, tmp_path / 'eight', tmp_path / 'eight.npz', **config)
  for a, b in zip(one_params, eight_params):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  assert abs(one['eval/loss'] - eight['eval/loss']) < 1e-4
  assert one['eval/accuracy'] == eight['eval/accuracy']

  # The one-device checkpoint at step 6 continues to step 9 on eight devices as it does on one.
  shutil.copytree(tmp_path / 'one', tmp_path / 'one_again')
  _, on_one = run_on(1, tmp_path / 'one', tmp_path / 'on_one.npz', num_train_steps=9, **config)
  _, on_eight = run_on(8, tmp_path / 'one_again', tmp_path / 'on_eight.npz', num_train_steps=9, **config)
  for a, b in zip(on_one, on_eight):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  assert any(not np.allclose(a, b) for a, b in zip(one_params, on_eight))
