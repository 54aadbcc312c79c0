"""Image grids, and writing them as PNG files and animated GIFs, locally or in a bucket."""

import io
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from deeplearn.core import storage


def grid(images: np.ndarray, padding: int = 2) -> np.ndarray:
  """`(N, H, W, C)` images with values in [0, 1] tiled on a near-square grid, as one `(H', W', C)` uint8 image."""
  n, h, w, c = images.shape
  cols = math.ceil(math.sqrt(n))
  rows = math.ceil(n / cols)
  canvas = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding, c), np.uint8)
  pixels = np.round(np.clip(np.asarray(images, np.float32), 0, 1) * 255).astype(np.uint8)
  for i, image in enumerate(pixels):
    top, left = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
    canvas[top:top + h, left:left + w] = image
  return canvas


def _pil(image: np.ndarray) -> Image.Image:
  return Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)


def save_png(path: str, image: np.ndarray) -> None:
  """Writes an `(H, W, C)` uint8 image, creating the folder."""
  file = storage.path(path)
  file.parent.mkdir(parents=True, exist_ok=True)
  with file.open('wb') as f:
    _pil(image).save(f, format='PNG')


def save_gif(path: str, frames: Sequence[str], seconds_per_frame: float = 0.25) -> None:
  """Writes the PNG files `frames`, in order, as one looping animated GIF."""
  first, *rest = [Image.open(io.BytesIO(storage.path(frame).read_bytes())) for frame in frames]
  with storage.path(path).open('wb') as f:
    first.save(f, format='GIF', save_all=True, append_images=rest, duration=int(seconds_per_frame * 1000), loop=0)
