"""Eight (virtual CPU) devices train as one does, and checkpoints move between device counts."""

import json
import os
import shutil
import subprocess
import sys
from typing import Any

import jax
import numpy as np
import pytest
from tensorflow_datasets.image_classification import mnist as tfds_mnist

from deeplearn.classification import defaults as classification_defaults
from deeplearn.core import checkpoints, train
from deeplearn.data import datasets
from tests.conftest import tiny_config, write_idx_files, xla_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train_runs(runs: list[dict[str, Any]]) -> list[dict[str, float]]:
  """Trains each run in turn ({"config": {...}, "workdir", "out", "copy_to"?}), saving its final parameters to
  "out"; their summaries."""
  summaries = []
  for run in runs:
    config = tiny_config(classification_defaults.classification_config(), **run['config'])
    summaries.append(train.train_and_evaluate(config, str(run['workdir'])))
    params = checkpoints.create_manager(str(run['workdir']), 3).restore(None)['state']['params']
    np.savez(run['out'], *jax.tree.leaves(params))
    if run.get('copy_to'):
      shutil.copytree(run['workdir'], run['copy_to'])
  return summaries


SCRIPT = ('import json, sys, jax; from tests.test_multidevice import train_runs\n'
          'print(json.dumps({"devices": jax.device_count(), "summaries": train_runs(json.loads(sys.argv[1]))}))')


def run_on(devices: int, *runs: dict[str, Any]) -> tuple[list[dict[str, float]], list[list[np.ndarray]]]:
  """Trains each run in turn with `devices` devices (in this process when it has that many, which saves a
  process's start); their summaries and final parameters."""
  runs = [{k: str(v) if k != 'config' else v for k, v in run.items()} for run in runs]
  if devices == jax.device_count():
    summaries = train_runs(runs)
  else:
    env = dict(os.environ, XLA_FLAGS=xla_flags(f'--xla_force_host_platform_device_count={devices}'),
               PYTHONPATH=ROOT)
    result = subprocess.run([sys.executable, '-c', SCRIPT, json.dumps(runs)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output['devices'] == devices
    summaries = output['summaries']
  params = [[v for _, v in sorted(np.load(run['out']).items(), key=lambda kv: int(kv[0].split('_')[1]))]
            for run in runs]
  return summaries, params


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


@pytest.fixture
def mnist_for_batch_128(tmp_path):
  """A TFDS data dir whose `mnist` holds 256 training images: `train[:90%]` fills a batch of 128."""
  raw, data_dir = tmp_path / 'raw', str(tmp_path / 'tfds')
  write_idx_files(str(raw), seed=3, num_train=256, num_test=32)
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(tfds_mnist, '_TRAIN_EXAMPLES', 256)
    patch.setattr(tfds_mnist, '_TEST_EXAMPLES', 32)
    datasets.prepared_builder('mnist', data_dir=data_dir, manual_dir=str(raw))
  return data_dir


def start_mnist_as_shipped_on_eight_devices(workdir, data_dir: str, cpus: set[int]) -> subprocess.Popen:
  """`configs/mnist.py` for 100 steps, started as a user would on 8 virtual CPU devices, on `cpus` only (set as soon
  as it has started, seconds before its imports start a thread: each thread inherits it). The tests' XLA flags
  compile it in a quarter of the time; its slower code only makes the devices lag the host further."""
  run = subprocess.Popen(
      [sys.executable, '-m', 'deeplearn.main', '--config=configs/mnist.py', f'--workdir={workdir}',
       f'--config.data_dir={data_dir}', '--config.num_train_steps=100'],
      cwd=ROOT, env=dict(os.environ, XLA_FLAGS=xla_flags('--xla_force_host_platform_device_count=8')),
      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  os.sched_setaffinity(run.pid, cpus)
  return run


def lines_until_training(run: subprocess.Popen) -> str:
  """What `run` printed up to the start of its first train step (the rest of its stderr stays to be read)."""
  lines = []
  for line in run.stderr:
    lines.append(line)
    if 'Compiling and running the first train step' in line:
      break
  return ''.join(lines)


def test_mnist_as_shipped_trains_on_eight_devices_of_a_busy_core(mnist_for_batch_128, tmp_path):
  """Before the host's dispatch was bounded (`parallel.DispatchWindow`), this aborted in the first 100 steps: XLA's
  all-reduce waited 40 s for devices whose launches had no thread, then dumped core. The run keeps to one core,
  which a busy loop shares from the first train step to the end (as two busy loops on two cores did, at half the
  cost to the other tests). That eight devices compute what one does is the exact test above."""
  core = {min(os.sched_getaffinity(0))}
  run = start_mnist_as_shipped_on_eight_devices(tmp_path / 'eight', mnist_for_batch_128, core)
  printed = lines_until_training(run)
  busy = subprocess.Popen([sys.executable, '-c', f'import os; os.sched_setaffinity(0, {core})\nwhile True: pass'])
  try:
    stderr = printed + run.communicate(timeout=600)[1]
  finally:
    busy.kill()
  assert run.returncode == 0, stderr[-3000:]
  assert f'JAX devices: [{", ".join(f"CpuDevice(id={i})" for i in range(8))}]' in stderr
  state, step = checkpoints.restore_latest_as_saved(str(tmp_path / 'eight'))
  assert step == 100
  assert all(np.isfinite(p).all() for p in jax.tree.leaves(state['state']['params']))


def test_config_cpu_devices_splits_the_cpu_for_a_run(tmp_path):
  """`--config.cpu_devices=2`: the command trains on two CPU devices (its log lists the devices)."""
  result = subprocess.run([sys.executable, '-m', 'deeplearn.main', '--config=configs/regression.py',
                           f'--workdir={tmp_path}', '--config.cpu_devices=2', '--config.num_train_steps=4'],
                          cwd=ROOT, env=dict(os.environ, XLA_FLAGS=xla_flags()), capture_output=True, text=True,
                          timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  log = (tmp_path / 'logs' / 'process_0.log').read_text()
  devices_line = next(line for line in log.splitlines() if 'JAX devices: ' in line)
  assert devices_line.count('CpuDevice(') == 2, devices_line


def test_a_device_count_forced_in_xla_flags_wins_over_cpu_devices():
  code = 'from deeplearn.core import parallel; parallel.use_cpu_devices(2); import jax; print(jax.device_count())'
  result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, XLA_FLAGS=xla_flags('--xla_force_host_platform_device_count=3')))
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.split() == ['3']
