"""Image preprocessing on device, inside the jitted steps."""

import jax
import jax.numpy as jnp


def to_float(images: jax.Array) -> jax.Array:
  """uint8 pixels to float32 in [0, 1]."""
  return images.astype(jnp.float32) / 255.0


def cutout(rng: jax.Array, images: jax.Array, size: int) -> jax.Array:
  """Zeroes a `size` x `size` square of each image, centred on a uniformly drawn pixel (clipped at the edges).

  DeVries and Taylor, 2017, "Improved regularization of convolutional neural networks with cutout".
  """
  n, h, w, _ = images.shape
  centres = jax.random.randint(rng, (n, 2), 0, jnp.array([h, w]))
  starts = centres - size // 2
  rows = (jnp.arange(h) >= starts[:, :1]) & (jnp.arange(h) < starts[:, :1] + size)  # [n, h]
  cols = (jnp.arange(w) >= starts[:, 1:]) & (jnp.arange(w) < starts[:, 1:] + size)  # [n, w]
  return jnp.where((rows[:, :, None] & cols[:, None, :])[..., None], 0.0, images)


def augment(rng: jax.Array, images: jax.Array, max_shift: int, flip: bool, cutout_size: int = 0) -> jax.Array:
  """Training images' augmentations: shifts, mirroring, cutout.

  Shifts each image by up to `max_shift` pixels (zero fill), mirrors half of them if `flip`, then zeroes a
  `cutout_size` square of each (none when 0).
  """
  shift_rng, flip_rng = jax.random.split(rng)
  n, h, w, _ = images.shape
  if max_shift:
    padded = jnp.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
    offsets = jax.random.randint(shift_rng, (n, 2), 0, 2 * max_shift + 1)
    crop = lambda image, offset: jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, image.shape[-1]))
    images = jax.vmap(crop)(padded, offsets)
  if flip:
    mirrored = jax.random.bernoulli(flip_rng, 0.5, (n, 1, 1, 1))
    images = jnp.where(mirrored, images[:, :, ::-1, :], images)
  if cutout_size:
    images = cutout(jax.random.fold_in(rng, 2), images, cutout_size)  # Shifts and flips draw as without it.
  return images
