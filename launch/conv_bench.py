"""Every convolution of a config's models, timed in each formulation `models/layers.py` offers (forward and backward).

  python3 launch/conv_bench.py --config=configs/dcgan.py [--repeats=7]

Prints, per layer at the config's batch size, the median milliseconds of one jitted gradient in each
formulation, with respect to the parameters and then to the input as well, and the formulation
`conv='auto'` picks on this backend: the measurements behind `layers.formulation`. Runs on made-up
data (`synthetic_bench.py`), so any machine can time its own layers.
"""

import statistics
import tempfile
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from absl import app, flags

import synthetic_bench

_REPEATS = flags.DEFINE_integer('repeats', 7, 'Timed calls per layer and formulation; the median is reported.')


def convolution_calls(task, batch_size: int) -> list[tuple[nn.Module, tuple[int, ...]]]:
  """The distinct convolution layers `task.init_state` calls, unbound, with their input shapes at `batch_size`."""
  from deeplearn.models import layers  # pylint: disable=import-outside-toplevel
  calls = {}

  def record(next_fun, args, kwargs, context):
    module = context.module
    if context.method_name == '__call__' and isinstance(module, (layers.Conv, layers.ConvTranspose)):
      unbound = module.clone(parent=None, name=None)
      calls.setdefault((repr(unbound), args[0].shape[1:]), (unbound, (batch_size, *args[0].shape[1:])))
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(record):
    jax.eval_shape(task.init_state, jax.random.key(0))
  return list(calls.values())


def milliseconds(module: nn.Module, shape: tuple[int, ...], with_input: bool) -> float:
  """Median wall time of the jitted gradient of `sum(module(x)**2)`: with respect to the parameters, and `x` too."""
  x = jax.random.normal(jax.random.key(0), shape)
  params = module.init(jax.random.key(1), x)
  loss = lambda p, x: jnp.sum(jnp.square(module.apply(p, x)))
  grad = jax.jit(jax.grad(loss, argnums=(0, 1) if with_input else 0))
  jax.block_until_ready(grad(params, x))
  times = []
  for _ in range(_REPEATS.value):
    start = time.perf_counter()
    jax.block_until_ready(grad(params, x))
    times.append(time.perf_counter() - start)
  return 1e3 * statistics.median(times)


def timings(module: nn.Module, shape: tuple[int, ...]) -> str:
  """'W / W+X': milliseconds without and with the input's gradient (a model's first layer needs none)."""
  return ' / '.join(f'{milliseconds(module, shape, with_input):.1f}' for with_input in (False, True))


def describe(module: Any, shape: tuple[int, ...]) -> str:
  kind = type(module).__name__
  kh, kw = module.kernel_size
  return f'{kind} {kh}x{kw}/{module.strides[0]} {shape[1]}x{shape[2]}x{shape[3]} -> {module.features}'


def main(argv):
  del argv
  from deeplearn.core import registry  # pylint: disable=import-outside-toplevel
  from deeplearn.models import layers  # pylint: disable=import-outside-toplevel
  config = deeplearn.core.flags.CONFIG.value
  task = registry.get_task(config, tempfile.mkdtemp(prefix='conv-bench-'))
  print(f'{config.get("model_name") or config.task}, batch {config.batch_size}, backend {jax.default_backend()}')
  print('| layer (kernel/stride input -> features), ms: W / W+X | ' + ' | '.join(layers.FORMULATIONS[1:]) + ' | auto |')
  print('|---|' + '---:|' * len(layers.FORMULATIONS))
  for module, shape in convolution_calls(task, config.batch_size):
    times = {f: timings(module.clone(formulation=f), shape) for f in layers.candidates(module)}
    cells = [times.get(f, '') for f in layers.FORMULATIONS[1:]]
    chosen = layers.formulation(module.formulation, type(module), shape[1:], module.kernel_size, module.strides)
    print(f'| {describe(module, shape)} | ' + ' | '.join(cells) + f' | {chosen} |', flush=True)


if __name__ == '__main__':
  synthetic_bench.install_stubs()
  import deeplearn.core.flags  # pylint: disable=wrong-import-position  # Defines --config.
  from deeplearn.data import datasets  # pylint: disable=wrong-import-position
  datasets.load_split = synthetic_bench.synthetic_split
  app.run(main)
