"""Predicts with a trained run: ages of portraits (an age run) or the sentiment of reviews (an imdb run).

  python -m deeplearn.predict --workdir=runs/age --image=face.jpg [--image=other.png ...]
  python -m deeplearn.predict --workdir=runs/imdb --text="The movie was cool." [--text=...]
  python -m deeplearn.predict --workdir=runs/imdb --file=reviews.txt   # one review per line; - reads stdin
"""

import sys

from absl import app, flags

from deeplearn import checkpoints, workdir
from deeplearn.common_flags import WORKDIR
from deeplearn.errors import UserError
from deeplearn.tasks import age, imdb

_IMAGES = flags.DEFINE_multi_string('image', [], 'Age runs: an image file (JPEG, PNG, ...; any size and mode).')
_TEXTS = flags.DEFINE_multi_string('text', [], 'Imdb runs: a review.')
_FILE = flags.DEFINE_string('file', None, 'Imdb runs: a file of reviews, one per line; - for standard input.')


def predict_images(run_dir: str, paths: list[str]) -> int:
  """Prints each image's predicted age; returns the exit status (1 when some image was unreadable)."""
  if not paths:
    raise UserError('name at least one image: --image=FILE (repeatable).')
  ages, errors = age.predict_ages(run_dir, paths)
  for path in paths:
    if path in ages:
      print(f'{path}\t{ages[path]:.1f} years')
    else:
      print(f'error: {errors[path]}', file=sys.stderr)
  return 1 if errors else 0


def predict_reviews(run_dir: str, texts: list[str], file: str | None) -> int:
  """Prints the probability that each review is positive, one line each."""
  if file:
    with (sys.stdin if file == '-' else open(file, encoding='utf-8')) as lines:
      texts = texts + [line.rstrip('\n') for line in lines]
  if not texts:
    raise UserError('give at least one review: --text=REVIEW (repeatable) or --file=FILE (- for stdin).')
  for text, probability in zip(texts, imdb.predict_texts(run_dir, texts)):
    print(f'{probability:.3f}\t{text}')
  return 0


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  checkpoints.quiet_orbax_info()
  try:
    task = workdir.load_config(WORKDIR.value).task
    if task == 'age':
      status = predict_images(WORKDIR.value, _IMAGES.value)
    elif task == 'imdb':
      status = predict_reviews(WORKDIR.value, _TEXTS.value, _FILE.value)
    else:
      raise UserError(f'{WORKDIR.value} holds a {task!r} run; predict reads age and imdb runs.')
  except (UserError, OSError) as e:
    sys.exit(f'error: {e}')
  sys.exit(status)


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
