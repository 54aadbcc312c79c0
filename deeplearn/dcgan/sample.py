"""Draws a grid of digits from the latest checkpoint of a DCGAN run, without training.

  python -m deeplearn.dcgan.sample --workdir=runs/dcgan --num=64 --out=samples.png [--seed=0] [--scale=4]
"""

import sys

import jax
import numpy as np
from absl import app, flags

from deeplearn.core import images, runs
from deeplearn.core.errors import UserError
from deeplearn.core.flags import WORKDIR
from deeplearn.dcgan import task as dcgan

_NUM = flags.DEFINE_integer('num', 64, 'How many digits to draw.')
_OUT = flags.DEFINE_string('out', 'samples.png', 'PNG file to write the grid to.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the noise; the same seed draws the same digits.')
_SCALE = flags.DEFINE_integer('scale', 4, 'Each digit drawn this many times larger (28x28 pixels at 1).')


def draw(run_dir: str, num: int, seed: int, scale: int) -> tuple[np.ndarray, int]:
  """A grid of `num` digits drawn as evaluation draws them (each `scale` times larger), and the checkpoint's step."""
  run = runs.load(run_dir, task='dcgan')

  @jax.jit  # One compilation, not one per operation.
  def generate(variables, statistics_noise, noise):
    batch_stats = dcgan.sampling_statistics(run.model, variables['params'], variables['batch_stats'], statistics_noise)
    return dcgan.to_unit(run.model.apply({'params': variables['params'], 'batch_stats': batch_stats}, noise,
                                         train=False))
  noise = jax.random.normal(jax.random.key(seed), (num, run.config.noise_dim))
  digits = np.asarray(generate(run.variables, dcgan.statistics_noise(run.config), noise))
  return images.grid(digits.repeat(scale, axis=1).repeat(scale, axis=2)), run.step


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _NUM.value < 1 or _SCALE.value < 1:
    sys.exit(f'error: --num={_NUM.value} and --scale={_SCALE.value} must both be at least 1.')
  try:
    grid, step = draw(WORKDIR.value, _NUM.value, _SEED.value, _SCALE.value)
  except UserError as e:
    sys.exit(f'error: {e}')
  images.save_png(_OUT.value, grid)
  print(f'Wrote {_NUM.value} digits from the checkpoint at step {step} to {_OUT.value}.')


if __name__ == '__main__':
  flags.adopt_module_key_flags(sys.modules['deeplearn.core.flags'])
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
