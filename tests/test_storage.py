"""A `gs://` workdir against a real GCS API served locally (`tests/gcs_emulator.py`): train, stop, resume, read back."""

import functools
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import jax
import numpy as np
import pytest
from etils import epath
from PIL import Image

from deeplearn.core import checkpoints, history
from tests.conftest import override_flags, signalled_run, train_as_the_command_would

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKET = 'deeplearn-test'
NUM_STEPS = 200  # Far more than the few steps a run takes to stop once signalled at step 5 (16 ms each).


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


@pytest.fixture(scope='module')
def gcs_env():
  """A GCS emulator holding an empty bucket, and the environment that points gcsfs and TensorStore at it."""
  port = _free_port()
  emulator = subprocess.Popen([sys.executable, '-m', 'tests.gcs_emulator', str(port), BUCKET], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.monotonic() + 60
  while True:
    try:
      socket.create_connection(('localhost', port)).close()
      break
    except OSError:
      assert time.monotonic() < deadline and emulator.poll() is None, 'the GCS emulator did not start'
      time.sleep(0.1)
  env = {'STORAGE_EMULATOR_HOST': f'http://localhost:{port}', 'TENSORSTORE_GCS_HTTP_URL': f'http://localhost:{port}',
         'GOOGLE_AUTH_TOKEN_FOR_TESTING': 'emulator'}
  with pytest.MonkeyPatch.context() as patch:  # This process reads the bucket too.
    for name, value in env.items():
      patch.setenv(name, value)
    yield {**os.environ, **env, 'PYTHONPATH': ROOT}  # Commands run in a fresh folder, as from anywhere.
  emulator.terminate()
  emulator.wait()


def dcgan_overrides(data_dir: str, classifier_workdir: str) -> dict[str, Any]:
  """The DCGAN config shrunk to the fixtures."""
  return {'data_dir': data_dir, 'fid_classifier_workdir': classifier_workdir, 'batch_size': 16, 'eval_batch_size': 8,
          'num_train_steps': NUM_STEPS, 'log_every_steps': 1, 'eval_every_steps': NUM_STEPS,
          'checkpoint_every_steps': 10000, 'batches_per_transfer': 4, 'num_grid_samples': 4, 'num_fid_samples': 20,
          'num_statistics_samples': 32, 'ema_decay': 0.5, 'generator.features': (8, 4, 4),
          'discriminator.features': (4, 8)}


def dcgan_command(data_dir: str, classifier_workdir: str, workdir: str) -> list[str]:
  """`dcgan_overrides` as a user would type them."""
  return [sys.executable, '-m', 'deeplearn.main', f'--config={ROOT}/configs/dcgan.py', f'--workdir={workdir}',
          *override_flags(dcgan_overrides(data_dir, classifier_workdir))]


def test_a_gs_workdir_trains_stops_resumes_and_is_read_back(data_dir, classifier_workdir, gcs_env, tmp_path):
  workdir = f'gs://{BUCKET}/runs/dcgan'
  command = functools.partial(dcgan_command, data_dir, classifier_workdir)
  run = functools.partial(subprocess.run, cwd=tmp_path, env=gcs_env, capture_output=True, text=True, timeout=300)

  status, stderr = signalled_run(command(workdir), str(tmp_path), signal.SIGTERM, env=gcs_env)
  assert status == 0 and f'with a checkpoint in {workdir}/checkpoints' in stderr, stderr[-2000:]
  stopped_at = checkpoints.saved_steps(workdir)
  assert len(stopped_at) == 1 and 5 <= stopped_at[0] < NUM_STEPS
  finished = run(command(workdir))
  assert finished.returncode == 0, finished.stderr[-2000:]
  train_as_the_command_would('configs/dcgan.py', dcgan_overrides(data_dir, classifier_workdir), tmp_path / 'unbroken')
  assert checkpoints.saved_steps(workdir)[-1] == NUM_STEPS
  resumed, unbroken = (checkpoints.restore_latest_as_saved(w)[0]['state']
                       for w in (workdir, str(tmp_path / 'unbroken')))
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6), resumed, unbroken)

  sampled = run([sys.executable, '-m', 'deeplearn.dcgan.sample', f'--workdir={workdir}', '--num=4', '--scale=1',
                 f'--out={workdir}/grid.png'])
  assert sampled.returncode == 0, sampled.stderr[-2000:]
  assert Image.open(io.BytesIO(epath.Path(f'{workdir}/grid.png').read_bytes())).size == (2 + 2 * 30, 2 + 2 * 30)

  for name in ('config.json', f'images/samples_{NUM_STEPS:08d}.png', 'images/samples.gif',
               f'images/fid_{NUM_STEPS:08d}.png'):
    assert (epath.Path(workdir) / name).is_file(), name
  assert list(epath.Path(workdir).glob('events.out.tfevents.*'))
  starts = [json.loads(line) for line in epath.Path(f'{workdir}/starts.jsonl').read_text().splitlines()]
  assert [start['step'] for start in starts] == [0, stopped_at[0]]
  assert [step for step, _ in history.read_scalars(workdir)['eval/fid']] == [NUM_STEPS]
  log = epath.Path(f'{workdir}/logs/process_0.log').read_text()  # Both starts' lines, the stop between them.
  assert log.count('JAX devices:') == 2 and f'Stopped by SIGTERM at step {stopped_at[0]}' in log
  assert log.index('Stopped by SIGTERM') < log.rindex('JAX devices:')
  assert os.listdir(tmp_path) == ['unbroken']  # Nothing landed in a local `gs:` folder.


def test_a_gs_run_killed_outright_keeps_its_events_up_to_its_last_checkpoint(data_dir, classifier_workdir, gcs_env,
                                                                            tmp_path):
  workdir = f'gs://{BUCKET}/runs/killed'
  args = dcgan_command(data_dir, classifier_workdir, workdir) + ['--config.checkpoint_every_steps=2']
  status, stderr = signalled_run(args, str(tmp_path), signal.SIGKILL, env=gcs_env)
  assert status == -signal.SIGKILL, stderr[-2000:]
  last = checkpoints.saved_steps(workdir)[-1]
  assert last >= 2
  logged = [step for step, _ in history.read_scalars(workdir)['train/discriminator_loss']]
  assert logged[:last] == list(range(1, last + 1))
