"""Image preprocessing on device, inside the jitted steps."""

import jax
import jax.numpy as jnp


def to_float(images: jax.Array) -> jax.Array:
  """uint8 pixels to float32 in [0, 1]."""
  return images.astype(jnp.float32) / 255.0


def augment(rng: jax.Array, images: jax.Array, max_shift: int, flip: bool) -> jax.Array:
  """Shifts each image by up to `max_shift` pixels (zero fill) and, if `flip`, mirrors half of them."""
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
  return images
