"""Ages of portraits from a trained age run (`python -m deeplearn.predict --workdir=AGE_RUN --image=FILE`)."""

import sys
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageOps

from deeplearn.age import task as age
from deeplearn.core import storage
from deeplearn.core.errors import UserError
from deeplearn.core.runs import Run
from deeplearn.data import datasets


def load_image(path: str, size: int) -> np.ndarray:
  """The image in `path` as RGB, center-cropped to a square and resized to `size` x `size`, uint8."""
  try:
    with storage.path(path).open('rb') as file, Image.open(file) as image:
      image = ImageOps.exif_transpose(image).convert('RGB')
  except (OSError, ValueError, Image.DecompressionBombError) as e:
    raise UserError(f'cannot read {path} as an image ({type(e).__name__}: {e})') from e
  width, height = image.size
  side = min(width, height)
  left, top = (width - side) // 2, (height - side) // 2
  square = np.asarray(image.crop((left, top, left + side, top + side)))
  return datasets.resized(square, size).numpy()


def predict_ages(run: Run, paths: Sequence[str]) -> tuple[dict[str, float], dict[str, str]]:
  """The predicted age of each readable image, and the error of each unreadable one, by path."""
  images, errors = {}, {}
  for path in paths:
    try:
      images[path] = load_image(path, run.config.image_size)
    except UserError as e:
      errors[path] = str(e)
  if not images:
    return {}, errors
  ages = age.age_predictor(run.config, run.model)(run.variables, np.stack(list(images.values())))
  return dict(zip(images, np.asarray(ages).tolist())), errors


def predict(run: Run, images: Sequence[str], texts: Sequence[str]) -> int:
  """Prints each image's predicted age; returns the exit status (1 when some image was unreadable)."""
  if texts or not images:
    raise UserError('an age run reads portraits: name at least one image with --image=FILE (repeatable).')
  ages, errors = predict_ages(run, images)
  for path in images:
    if path in ages:
      print(f'{path}\t{ages[path]:.1f} years')
    else:
      print(f'error: {errors[path]}', file=sys.stderr)
  return 1 if errors else 0
