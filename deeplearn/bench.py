"""Throughput of a config's training: compile time, the step alone, the input pipeline alone, the whole loop.

  python -m deeplearn.bench --config=configs/mnist_original.py --config.data_dir=... \
      [--peers=../shared/bench/peers --peer_models=mnist]

With `--peers`, ours and the Keras and PyTorch peers are timed interleaved: `--rounds` rounds of ours
then the peers, so that whatever slows this shared machine meets both sides; the ratio to the fastest
peer is the median over rounds, with its range.
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

from deeplearn.core import parallel, registry, train, xla_cpu
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
_PEER_VARIANTS = flags.DEFINE_string('peer_variants', '', "The peers' modes (nojit, jit, eager, compile); empty: all.")
_ROUNDS = flags.DEFINE_integer('rounds', 3, 'With --peers: rounds of ours then the peers; medians over rounds.')


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
    window = parallel.DispatchWindow()
    for _ in range(count):
      state, metrics = train_step(state, fixed_chunk, rng)
      window.add(metrics)
    return metrics

  def pipeline_alone(first, count):
    return [train.train_chunk(task, mesh, index, per_transfer)
            for index in range(first, first + -(-count // per_transfer))]

  def whole_loop(first, count):
    nonlocal state
    total = None
    window = parallel.DispatchWindow()
    for chunk in train.global_train_chunks(task, mesh, range(first, first + count), per_transfer):
      state, metrics = jitted_step(state, chunk, rng)
      total = train.merge_metrics(total, metrics)
      window.add(metrics)
    return total

  return {
      'compile_s': compile_seconds,
      'step_ex_per_s': examples_per_second(step_alone, config.batch_size),
      'pipeline_ex_per_s': examples_per_second(pipeline_alone, config.batch_size),
      'loop_ex_per_s': examples_per_second(whole_loop, config.batch_size, _LOOP_WARMUP_STEPS.value),
  }


def run_peers(round_index: int, measure_peak: bool) -> dict:
  """One round of the peers' own runner (a fresh process per framework and mode); its result record."""
  out = tempfile.mkdtemp(prefix='peers-')
  subprocess.run([sys.executable, os.path.join(_PEERS.value, 'run.py'), '--venv', _PEER_VENV.value,
                  '--venv-torch', _PEER_VENV_TORCH.value, '--models', _PEER_MODELS.value, '--out', out,
                  *([] if measure_peak else ['--no-peak']),
                  *(['--variants', _PEER_VARIANTS.value] if _PEER_VARIANTS.value else [])],
                 check=True, stdout=sys.stderr)
  with open(os.path.join(out, 'latest.json')) as f:
    result = json.load(f)
  for run in result['runs']:
    run['round'] = round_index
  return result


def spread(values: list[float], digits: int = 0) -> str:
  """'median (min-max)' of values measured in several rounds."""
  if len(values) == 1:
    return f'{values[0]:,.{digits}f}'
  return f'{statistics.median(values):,.{digits}f} ({min(values):,.{digits}f}-{max(values):,.{digits}f})'


def print_ours(config, ours: dict[str, float]) -> None:
  print(f'\n| {config.task} / {config.get("model_name", "")} (batch {config.batch_size}, {jax.device_count()} '
        f'{jax.devices()[0].platform} device(s)) | examples/s |')
  print('|---|---:|')
  print(f'| compile (s) | {ours["compile_s"]:.2f} |')
  for key, label in (('step_ex_per_s', 'train step alone'), ('pipeline_ex_per_s', 'input pipeline alone'),
                     ('loop_ex_per_s', 'whole loop')):
    print(f'| {label} | {ours[key]:,.0f} |')
  print(f'| loop lost to the input pipeline | {100 * (1 - ours["loop_ex_per_s"] / ours["step_ex_per_s"]):.1f}% |')


def print_interleaved(rounds: list[tuple[dict, dict]]) -> None:
  """Per model: our step and loop, each peer, and our step over the fastest peer's, each over the rounds."""
  peak = next((r['peak'] for _, r in rounds if r['peak']), [])
  peak_gflops = max((p['gflops_median'] for p in peak), default=float('nan'))
  flops = {name: model['train_flops'] for name, model in rounds[0][1]['models'].items()}
  print(f'\n{len(rounds)} rounds, each ours then the peers (their runner: {rounds[0][1]["meta"]["threads"]} '
        f'threads per framework; ours: {os.cpu_count()} cores). Median over rounds (min-max). Machine matmul '
        f'peak: {peak_gflops:.0f} GFLOP/s.')
  for model in _PEER_MODELS.value.split(','):
    gflop = flops[model] / 1e9
    step = [ours['step_ex_per_s'] for ours, _ in rounds]
    loop = [ours['loop_ex_per_s'] for ours, _ in rounds]
    peers: dict[str, list[float]] = {}
    fastest = []
    for _, result in rounds:
      records = [r for r in result['runs'] if r.get('ok') and r['model'] == model]
      for r in records:
        peers.setdefault(f'{r["framework"]} {r["variant"]}', []).append(r['ex_per_s'])
      fastest.append(max(r['ex_per_s'] for r in records))
    print(f'\n| {model} | examples/s | GFLOP/s |\n|---|---:|---:|')
    print(f'| ours, step alone | {spread(step)} | {statistics.median(step) * gflop:.0f} |')
    print(f'| ours, whole loop | {spread(loop)} | {statistics.median(loop) * gflop:.0f} |')
    for name, values in sorted(peers.items(), key=lambda kv: -statistics.median(kv[1])):
      print(f'| {name} | {spread(values)} | {statistics.median(values) * gflop:.0f} |')
    print(f'| **ours (step) / fastest peer** | **{spread([o / f for o, f in zip(step, fastest)], 2)}x** | |')


def main(argv: list[str]) -> None:
  del argv
  config = CONFIG.value
  parallel.use_cpu_devices(config.cpu_devices)
  xla_cpu.use_convolutions(config.cpu_convolutions)
  if not _PEERS.value:
    print_ours(config, benchmark(config))
    return
  rounds = []
  for round_index in range(_ROUNDS.value):  # Interleaved: whatever slows the machine meets both sides.
    ours = benchmark(config)
    print_ours(config, ours)
    rounds.append((ours, run_peers(round_index, measure_peak=round_index == 0)))
  print_interleaved(rounds)


if __name__ == '__main__':
  flags.mark_flag_as_required('config')
  app.run(main)
