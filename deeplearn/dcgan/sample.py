"""Draws a grid of digits from the latest checkpoint of a DCGAN run, without training.

  python -m deeplearn.dcgan.sample --workdir=runs/dcgan --num=64 --out=samples.png [--seed=0]
"""

import sys

import jax
from absl import app, flags

from deeplearn.core import images, runs
from deeplearn.core.errors import UserError
from deeplearn.core.flags import WORKDIR
from deeplearn.dcgan import task as dcgan

_NUM = flags.DEFINE_integer('num', 64, 'How many digits to draw.')
_OUT = flags.DEFINE_string('out', 'samples.png', 'PNG file to write the grid to.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the noise; the same seed draws the same digits.')


def draw(run_dir: str, num: int, seed: int) -> tuple:
  """A grid image of `num` generated digits and the step of the checkpoint that drew them."""
  run = runs.load(run_dir, task='dcgan')
  noise = jax.random.normal(jax.random.key(seed), (num, run.config.noise_dim))
  generated = run.model.apply(run.variables, noise, train=False)
  return images.grid(jax.device_get(dcgan.to_unit(generated))), run.step


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  if _NUM.value < 1:
    sys.exit(f'error: --num={_NUM.value}; draw at least one digit.')
  try:
    grid, step = draw(WORKDIR.value, _NUM.value, _SEED.value)
  except UserError as e:
    sys.exit(f'error: {e}')
  images.save_png(_OUT.value, grid)
  print(f'Wrote {_NUM.value} digits from the checkpoint at step {step} to {_OUT.value}.')


if __name__ == '__main__':
  flags.adopt_module_key_flags(sys.modules['deeplearn.core.flags'])
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
