"""SIGTERM and Ctrl-C: a run saves the step it reached and exits 0; rerun, it ends where an unbroken run ends."""

import os
import re
import signal
import subprocess
import sys

import jax
import numpy as np
import pytest

from deeplearn.core import checkpoints, preemption
from tests.conftest import override_flags, signalled_run, train_as_the_command_would

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_STEPS = 100  # Far more than the few steps a run takes to stop once signalled at step 5.
OVERRIDES = {'batch_size': 16, 'eval_batch_size': 8, 'num_train_steps': NUM_STEPS, 'log_every_steps': 1,
             'eval_every_steps': NUM_STEPS, 'checkpoint_every_steps': 10000, 'batches_per_transfer': 4,
             'model.widths': (4, 8), 'optimizer.warmup_steps': 2,
             'cpu_devices': 0}  # One device, as this test's process has: it trains the unbroken run.


def command(data_dir: str, workdir) -> list[str]:
  """The MNIST config shrunk to the fixtures, as a user would type it."""
  return [sys.executable, '-m', 'deeplearn.main', '--config=configs/mnist.py', f'--workdir={workdir}',
          f'--config.data_dir={data_dir}', *override_flags(OVERRIDES)]


def final_params(workdir) -> dict:
  return checkpoints.restore_latest_as_saved(str(workdir))[0]['state']['params']


def test_sigterm_saves_the_step_reached_and_a_rerun_ends_where_an_unbroken_run_ends(data_dir, tmp_path):
  status, stderr = signalled_run(command(data_dir, tmp_path / 'stopped'), ROOT, signal.SIGTERM)
  assert status == 0, stderr[-2000:]
  stopped = re.findall(rf'Stopped by SIGTERM at step (\d+) of {NUM_STEPS} with a checkpoint in .*; rerun the same '
                       r'command to resume\.', stderr)
  assert len(stopped) == 1 and 5 <= int(stopped[0]) < NUM_STEPS
  assert checkpoints.saved_steps(str(tmp_path / 'stopped')) == [int(stopped[0])]
  assert 'Traceback' not in stderr

  subprocess.run(command(data_dir, tmp_path / 'stopped'), cwd=ROOT, check=True, capture_output=True, timeout=300)
  assert checkpoints.saved_steps(str(tmp_path / 'stopped'))[-1] == NUM_STEPS
  train_as_the_command_would('configs/mnist.py', dict(OVERRIDES, data_dir=data_dir), tmp_path / 'unbroken')
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
               final_params(tmp_path / 'stopped'), final_params(tmp_path / 'unbroken'))


def test_the_first_ctrl_c_asks_to_stop_and_a_second_stops_at_once():
  before = signal.getsignal(signal.SIGINT)
  stop = preemption.StopRequests()
  try:
    assert not stop.requested(1)
    os.kill(os.getpid(), signal.SIGINT)
    assert stop.requested(2) and stop.signal_name == 'SIGINT'
    with pytest.raises(KeyboardInterrupt):
      os.kill(os.getpid(), signal.SIGINT)
  finally:
    stop.close()
  assert signal.getsignal(signal.SIGINT) is before
