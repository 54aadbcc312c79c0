"""Predicts with a trained run; the run's project says how (`deeplearn.core.registry.PREDICTORS`).

  python -m deeplearn.predict --workdir=runs/age --image=face.jpg [--image=other.png ...]
  python -m deeplearn.predict --workdir=runs/imdb --text="The movie was cool." [--text=...]
  python -m deeplearn.predict --workdir=runs/imdb --file=reviews.txt   # one review per line; - reads stdin
"""

import sys

from absl import app, flags

from deeplearn.core.errors import UserError
from deeplearn.core.flags import WORKDIR

_IMAGES = flags.DEFINE_multi_string('image', [], 'An image file (JPEG, PNG, ...; any size and mode), for age runs.')
_TEXTS = flags.DEFINE_multi_string('text', [], 'A review, for imdb runs.')
_FILE = flags.DEFINE_string('file', None, 'A file of reviews, one per line; - for standard input (imdb runs).')


def read_texts(texts: list[str], file: str | None) -> list[str]:
  """`texts` and then each line of `file` ('-': standard input)."""
  if not file:
    return texts
  with (sys.stdin if file == '-' else open(file, encoding='utf-8')) as lines:
    return texts + [line.rstrip('\n') for line in lines]


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  # Loaded once the flags are known to be good: TensorFlow takes seconds to import.
  from deeplearn.core import registry, runs  # pylint: disable=import-outside-toplevel

  try:
    predictor = registry.predictor_module(runs.load_config(WORKDIR.value).task)
    status = predictor.predict(runs.load(WORKDIR.value), _IMAGES.value, read_texts(_TEXTS.value, _FILE.value))
  except (UserError, OSError) as e:
    sys.exit(f'error: {e}')
  sys.exit(status)


if __name__ == '__main__':
  flags.adopt_module_key_flags(sys.modules['deeplearn.core.flags'])
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
