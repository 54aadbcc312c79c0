"""Throughput of a config's training: compile time, the step alone, the input pipeline alone, the whole loop.

  python -m deeplearn.bench --config=configs/mnist_original.py --config.data_dir=... \
      [--peers=../shared/bench/peers --peer_models=mnist]

With `--peers`, the Keras and PyTorch peers are timed in the same go, after ours.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import jax
from absl import app, flags

from deeplearn.core import parallel, registry, train
from deeplearn.core.flags import CONFIG

_WINDOWS = flags.DEFINE_integer('windows', 5, 'Timed windows; the median is reported.')
_WINDOW_SECONDS = flags.DEFINE_float('window_seconds', 2.0, 'Length of one timed window.')
_LOOP_WARMUP_STEPS = flags.DEFINE_integer(
    'loop_warmup_steps', 3, 'Untimed steps of the whole loop first; where batch shapes vary (IMDB buckets), '
    'an epoch of them compiles every shape.')
_PEERS = flags.DEFINE_string('peers', '', 'Folder of the peer benchmark (run.py); empty skips the peers.')
_PEER_MODELS = flags.DEFINE_string('peer_models', 'mnist', 'Peer models to time, comma-separated.')
_PEER_VENV = flags.DEFINE_string('peer_venv', '/tmp/peers-tf', 'Virtualenv with tensorflow-cpu for the Keras peer.')
_PEER_VENV_TORCH = flags.DEFINE_string('peer_venv_torch', '/tmp/peers-torch', 'Virtualenv with torch for the PyTorch peer.')


def examples_per_second(run_steps: Callable[[int, int], object], batch_size: int, warmup: int = 3) -> float:
  """Median examples/s over timed windows; `run_steps(first, count)` runs `count` steps and returns something to block on."""
  jax.block_until_ready(run_steps(0, warmup))  # Compiles every shape the warm-up meets.
  start = time.perf_counter()
  jax.block_until_ready(run_steps(warmup, 3))
  steps_per_window = max(1, round(_WINDOW_SECONDS.value / ((time.perf_counter() - start) / 3)))
  rates = []
  for window in range(_WINDOWS.value):
    start = time.perf_counter()
    jax.block_until_ready(run_steps(warmup + 3 + window * steps_per_window, steps_per_window))
    rates.append(steps_per_window * batch_size / (time.perf_counter() - start))
  return statistics.median(rates)


def benchmark(config) -> dict[str, float]:
  mesh = parallel.make_mesh()
  task = registry.get_task(config, tempfile.mkdtemp(prefix='bench-'))  # For what a task learns before training.
  replicated = parallel.replicated(mesh)
  state = jax.jit(task.init_state, out_shardings=replicated)(jax.random.key(config.seed))
  rng = jax.random.key(1)
  per_transfer = config.batches_per_transfer
  fixed_chunk = train.train_chunk(task, mesh, 0, per_transfer)

  jitted_step = train.jit_train_step(task, mesh, per_transfer)  # Compiles each new batch shape it meets.
  start = time.perf_counter()
  train_step = jitted_step.lower(state, fixed_chunk, rng).compile()
  compile_seconds = time.perf_counter() - start

  def step_alone(first, count):
    nonlocal state
    for _ in range(count):
      state, metrics = train_step(state, fixed_chunk, rng)
    return metrics

  def pipeline_alone(first, count):
    return [train.train_chunk(task, mesh, index, per_transfer)
            for index in range(first, first + -(-count // per_transfer))]

  def whole_loop(first, count):
    nonlocal state
    total = None
    for chunk in train.global_train_chunks(task, mesh, range(first, first + count), per_transfer):
      state, metrics = jitted_step(state, chunk, rng)
      total = train.merge_metrics(total, metrics)
    return total

  return {
      'compile_s': compile_seconds,
      'step_ex_per_s': examples_per_second(step_alone, config.batch_size),
      'pipeline_ex_per_s': examples_per_second(pipeline_alone, config.batch_size),
      'loop_ex_per_s': examples_per_second(whole_loop, config.batch_size, _LOOP_WARMUP_STEPS.value),
  }


def run_peers() -> list[dict]:
  """The peers' own runner, in this go; returns its result records."""
  out = tempfile.mkdtemp(prefix='peers-')
  subprocess.run([sys.executable, os.path.join(_PEERS.value, 'run.py'), '--venv', _PEER_VENV.value,
                  '--venv-torch', _PEER_VENV_TORCH.value, '--models', _PEER_MODELS.value,
                  '--no-peak', '--out', out], check=True, stdout=sys.stderr)
  with open(os.path.join(out, 'latest.json')) as f:
    return [r for r in json.load(f)['runs'] if r.get('ok')]


def main(argv: list[str]) -> None:
  del argv
  config = CONFIG.value
  ours = benchmark(config)
  print(f'\n| {config.task} / {config.get("model_name", "")} (batch {config.batch_size}, {jax.device_count()} '
        f'{jax.devices()[0].platform} device(s)) | examples/s |')
  print('|---|---:|')
  print(f'| compile (s) | {ours["compile_s"]:.2f} |')
  for key, label in (('step_ex_per_s', 'train step alone'), ('pipeline_ex_per_s', 'input pipeline alone'),
                     ('loop_ex_per_s', 'whole loop')):
    print(f'| {label} | {ours[key]:,.0f} |')
  print(f'| loop lost to the input pipeline | {100 * (1 - ours["loop_ex_per_s"] / ours["step_ex_per_s"]):.1f}% |')
  if _PEERS.value:
    peers = run_peers()
    print('\n| peer (same machine, same go) | examples/s | ours / peer |')
    print('|---|---:|---:|')
    for r in sorted(peers, key=lambda r: -r['ex_per_s']):
      print(f'| {r["model"]} {r["framework"]} {r["variant"]} | {r["ex_per_s"]:,.0f} | '
            f'{ours["step_ex_per_s"] / r["ex_per_s"]:.2f}x |')


if __name__ == '__main__':
  flags.mark_flag_as_required('config')
  app.run(main)
