"""Two processes on one machine (JAX's distributed runtime, gloo over loopback) train as one process does.

The two-process runs go through `launch/local_processes.sh`, as a user starts them; the one-process runs they are
compared with train in the test's own process.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import jax
import numpy as np
import pytest

from deeplearn.core import checkpoints
from tests.conftest import override_flags, train_as_the_command_would, xla_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = 240
CONFIG_FILE = 'configs/mnist_original.py'


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def tiny_run_overrides(data_dir: str, num_train_steps: int) -> dict[str, Any]:
  """The MNIST original config on the fixtures, read as 2 data shards whatever the number of processes."""
  return {'data_dir': data_dir, 'data_shards': 2, 'batch_size': 16, 'eval_batch_size': 8,
          'num_train_steps': num_train_steps, 'log_every_steps': 2, 'eval_every_steps': 3, 'checkpoint_every_steps': 3,
          'batches_per_transfer': 2, 'model.dropout_rate': 0.25}


def tiny_run_flags(data_dir: str, workdir, num_train_steps: int) -> list[str]:
  """`tiny_run_overrides` as a user types them."""
  return [f'--config={CONFIG_FILE}', f'--workdir={workdir}',
          *override_flags(tiny_run_overrides(data_dir, num_train_steps))]


def train_in_this_process(data_dir: str, workdir, num_train_steps: int) -> None:
  """The run `tiny_run_flags` starts, in this (one-device) process."""
  train_as_the_command_would(CONFIG_FILE, tiny_run_overrides(data_dir, num_train_steps), workdir)


ENV = dict(os.environ, XLA_FLAGS=xla_flags('--xla_force_host_platform_device_count=1'), PYTHONPATH=ROOT,
           PYTHON=sys.executable)


def start(command: list[str], log_path, **env) -> subprocess.Popen:
  """A command in its own session (so that it and its children can be killed together), logging to `log_path`."""
  with open(log_path, 'w') as log:
    return subprocess.Popen(command, cwd=ROOT, env=dict(ENV, **env), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def start_process(flags: list[str], log_path, process_id: int, port: int) -> subprocess.Popen:
  """Process `process_id` of a two-process run."""
  return start([sys.executable, '-m', 'deeplearn.main', *flags, f'--coordinator_address=127.0.0.1:{port}',
                '--num_processes=2', f'--process_id={process_id}', '--heartbeat_timeout_s=10'], log_path)


def finish(processes: list[subprocess.Popen], deadline: float) -> list[int]:
  """Each process's exit status; any still running at `deadline` is killed (with its children) and fails the test."""
  try:
    return [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in processes]
  except subprocess.TimeoutExpired:
    pytest.fail(f'a process was still running after {TIMEOUT_S} s')
  finally:
    for p in processes:
      if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def run_two_processes(flags: list[str], log_dir) -> None:
  """A run of two processes through launch/local_processes.sh, to its end."""
  os.makedirs(log_dir)
  (status,) = finish([start(['launch/local_processes.sh', '2', *flags], log_dir / 'process_0.log',
                            LOG_DIR=str(log_dir))], time.monotonic() + TIMEOUT_S)
  assert status == 0, '\n'.join(open(log_dir / f).read()[-3000:] for f in sorted(os.listdir(log_dir)))


def final_params(workdir) -> list[np.ndarray]:
  saved, _ = checkpoints.restore_latest_as_saved(str(workdir))  # Onto this one-device process.
  return jax.tree.leaves(saved['state']['params'])


def assert_close(a: list[np.ndarray], b: list[np.ndarray]) -> None:
  for x, y in zip(a, b, strict=True):
    np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_two_processes_train_as_one_and_their_checkpoint_resumes_in_one(data_dir, tmp_path):
  run_two_processes(tiny_run_flags(data_dir, tmp_path / 'two', 6), tmp_path / 'two_logs')
  assert jax.process_count() == 1 and jax.device_count() == 1
  train_in_this_process(data_dir, tmp_path / 'one', 6)
  assert_close(final_params(tmp_path / 'two'), final_params(tmp_path / 'one'))
  assert 'Process 1 of 2' in open(tmp_path / 'two_logs' / 'process_1.log').read()
  assert len([f for f in os.listdir(tmp_path / 'two') if f.startswith('events.out')]) == 1  # Process 0's.
  # The two-process checkpoint at step 6, continued by one process, ends where the one-process run ends.
  for name in ('two', 'one'):
    train_in_this_process(data_dir, tmp_path / name, 9)
  assert_close(final_params(tmp_path / 'two'), final_params(tmp_path / 'one'))


def test_a_process_that_dies_stops_the_other_with_a_clear_error(data_dir, tmp_path):
  deadline = time.monotonic() + TIMEOUT_S
  flags, port = tiny_run_flags(data_dir, tmp_path / 'run', 100_000), free_port()
  survivor, doomed = (start_process(flags, tmp_path / f'p{i}.log', i, port) for i in range(2))
  while 'train/loss' not in open(tmp_path / 'p0.log').read():  # Both are training.
    assert survivor.poll() is None and time.monotonic() < deadline, open(tmp_path / 'p0.log').read()[-3000:]
    time.sleep(0.5)
  os.killpg(doomed.pid, signal.SIGKILL)
  killed_at = time.monotonic()
  status, _ = finish([survivor, doomed], deadline)
  log = open(tmp_path / 'p0.log').read()
  assert status != 0 and time.monotonic() - killed_at < 60
  assert 'lost the other processes' in log or 'another task died' in log, log[-3000:]


def test_sigterm_to_one_process_stops_both_at_the_same_step_with_one_checkpoint(data_dir, tmp_path):
  deadline = time.monotonic() + TIMEOUT_S
  flags, port = tiny_run_flags(data_dir, tmp_path / 'run', 100_000), free_port()
  processes = [start_process(flags, tmp_path / f'p{i}.log', i, port) for i in range(2)]
  while not all('train/loss' in open(tmp_path / f'p{i}.log').read() for i in range(2)):  # Both are training.
    assert all(p.poll() is None for p in processes) and time.monotonic() < deadline, \
        open(tmp_path / 'p0.log').read()[-3000:]
    time.sleep(0.5)
  processes[1].send_signal(signal.SIGTERM)  # One worker preempted, as a scheduler or a TPU VM does it.
  statuses = finish(processes, deadline)
  logs = [open(tmp_path / f'p{i}.log').read() for i in range(2)]
  assert statuses == [0, 0], logs[0][-3000:] + logs[1][-3000:]
  stopped = [re.findall(r'Stopped by SIGTERM at step (\d+) of 100000', log) for log in logs]
  assert len(stopped[0]) == 1 and stopped[0] == stopped[1], stopped
  assert checkpoints.saved_steps(str(tmp_path / 'run'))[-1] == int(stopped[0][0])
