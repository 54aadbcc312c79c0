"""Where a config's train step spends its time: a `jax.profiler` trace of the compiled step, per XLA operation.

  python3 launch/step_profile.py --config=configs/dcgan_original.py [--steps=5] [--top=15]

Prints the step's wall time, then per operation of the optimised program (a fusion, a convolution, a
loop) its thread-milliseconds per step and the model code it came from (the HLO's `op_name`, where XLA
kept one). Thread time is summed over the backend's worker threads, so the rows can add up to more than
the wall time; a loop's row includes the operations of its body, which also have rows of their own.
Runs on made-up data (`synthetic_bench.py`), so any machine can profile its own step.
"""

import collections
import glob
import re
import statistics
import tempfile
import time

import jax
from absl import app, flags

import synthetic_bench

_STEPS = flags.DEFINE_integer('steps', 5, 'Steps timed, then traced.')
_TOP = flags.DEFINE_integer('top', 15, 'Operations listed, the most expensive first.')

_COMPUTATION = re.compile(r'^(?:ENTRY )?%?([\w.-]+) .*\{$')
_INSTRUCTION = re.compile(r'^\s*(ROOT )?%?([\w.-]+) = (.+?) ([\w-]+)\(')
_CALLS = re.compile(r'calls=%?([\w.-]+)')
_OP_NAME = re.compile(r'op_name="(?:jit\([^)]*\)/)?([^"]*)"')


def compiled_step(config):
  """The config's jitted train step, compiled, with the state, a batch chunk and the rng to call it on."""
  from deeplearn.core import parallel, registry, train  # pylint: disable=import-outside-toplevel
  mesh = parallel.make_mesh()
  task = registry.get_task(config, tempfile.mkdtemp(prefix='step-profile-'))
  state = jax.jit(task.init_state, out_shardings=parallel.replicated(mesh))(jax.random.key(config.seed))
  chunk = train.train_chunk(task, mesh, 0, config.batches_per_transfer)
  rng = jax.random.key(1)
  step = train.jit_train_step(task, mesh, config.batches_per_transfer).lower(state, chunk, rng).compile()
  return step, state, chunk, rng


def describe(hlo_text: str) -> dict[str, str]:
  """Each instruction of an optimised HLO module's text: what it computes, and the model code it came from.

  A fusion is described by its fused computation's root (a fusion of one convolution: that convolution)
  and, where the fusion itself kept no `op_name`, the last one inside it.
  """
  instructions, roots, last_op_name = {}, {}, {}
  computation = ''
  for line in hlo_text.splitlines():
    if (start := _COMPUTATION.match(line)) and ' = ' not in line:
      computation = start[1]
    elif match := _INSTRUCTION.match(line):
      is_root, name, shape, opcode = match.groups()
      op_name, calls = _OP_NAME.search(line), _CALLS.search(line)
      instructions[name] = (f'{opcode} {shape.split("{")[0]}', op_name[1] if op_name else '', calls and calls[1])
      if is_root:
        roots[computation] = name
      if op_name:
        last_op_name[computation] = op_name[1]
  described = {}
  for name, (what, op_name, calls) in instructions.items():
    if calls in roots:
      what = f'{what.split()[0]} of {instructions[roots[calls]][0]}'
      op_name = op_name or last_op_name.get(calls, '')
    described[name] = f'{what}: {op_name}' if op_name else what
  return described


def thread_picoseconds(trace_dir: str, names: set[str]) -> collections.Counter:
  """The traced time of each operation in `names`, summed over threads and calls."""
  from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=import-outside-toplevel
  space = xplane_pb2.XSpace()
  with open(glob.glob(f'{trace_dir}/**/*.xplane.pb', recursive=True)[0], 'rb') as f:
    space.ParseFromString(f.read())
  totals = collections.Counter()
  for plane in space.planes:
    event_names = {key: metadata.name for key, metadata in plane.event_metadata.items()}
    for line in plane.lines:
      for event in line.events:
        name = event_names.get(event.metadata_id)
        if name in names:
          totals[name] += event.duration_ps
  return totals


def main(argv):
  del argv
  config = deeplearn.core.flags.CONFIG.value
  step, state, chunk, rng = compiled_step(config)
  for _ in range(2):
    state, _ = step(state, chunk, rng)
  times = []
  for _ in range(_STEPS.value):
    start = time.perf_counter()
    state, _ = jax.block_until_ready(step(state, chunk, rng))
    times.append(time.perf_counter() - start)
  trace_dir = tempfile.mkdtemp(prefix='step-profile-')
  with jax.profiler.trace(trace_dir):
    for _ in range(_STEPS.value):
      state, _ = jax.block_until_ready(step(state, chunk, rng))
  described = describe(step.as_text())
  totals = thread_picoseconds(trace_dir, set(described))
  wall_ms = 1e3 * statistics.median(times)
  print(f'{config.get("model_name") or config.task}, batch {config.batch_size}, backend {jax.default_backend()}: '
        f'step {wall_ms:.1f} ms wall ({config.batch_size / wall_ms * 1e3:,.0f} examples/s), '
        f'{len(jax.devices())} device(s)')
  print('| operation | thread-ms per step | what it computes: model code |')
  print('|---|---:|---|')
  for name, picoseconds in totals.most_common(_TOP.value):
    print(f'| {name} | {picoseconds / 1e9 / _STEPS.value:.2f} | {described[name]} |')


if __name__ == '__main__':
  synthetic_bench.install_stubs()
  import deeplearn.core.flags  # pylint: disable=wrong-import-position  # Defines --config.
  from deeplearn.data import datasets  # pylint: disable=wrong-import-position
  datasets.load_split = synthetic_bench.synthetic_split
  app.run(main)
