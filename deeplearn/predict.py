"""Predicts with a trained run: the age of the person in each portrait, for an age run.

  python -m deeplearn.predict --workdir=runs/age --image=face.jpg [--image=other.png ...]
"""

import sys

from absl import app, flags

from deeplearn import checkpoints
from deeplearn.errors import UserError
from deeplearn.tasks import age

_WORKDIR = flags.DEFINE_string('workdir', None, 'Workdir of a training run.')
_IMAGES = flags.DEFINE_multi_string('image', [], 'An image file (JPEG, PNG, ...; any size and mode); repeatable.')
flags.mark_flags_as_required(['workdir'])


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  checkpoints.quiet_orbax_info()
  try:
    if not _IMAGES.value:
      raise UserError('name at least one image: --image=FILE (repeatable).')
    ages, errors = age.predict_ages(_WORKDIR.value, _IMAGES.value)
  except UserError as e:
    sys.exit(f'error: {e}')
  for path in _IMAGES.value:
    if path in ages:
      print(f'{path}\t{ages[path]:.1f} years')
    else:
      print(f'error: {errors[path]}', file=sys.stderr)
  if errors:
    sys.exit(1)


if __name__ == '__main__':
  app.run(main)
