"""The DCGAN's adversarial losses by name (`config.gan_loss`), the R1 penalty on the discriminator's gradient, and
the mode-seeking term on the generator's.

A loss maps the discriminator's logits on real images, on generated images (as the discriminator's loss
sees them) and on generated images as the generator's loss sees them, to (discriminator loss, generator
loss). `real_label` < 1 is one-sided label smoothing (Salimans et al., 2016): the real images' target.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

GANLoss = Callable[..., tuple[jax.Array, jax.Array]]


def non_saturating(real_logits: jax.Array, fake_logits: jax.Array, fooled_logits: jax.Array, *,
                   real_label: float = 1.0) -> tuple[jax.Array, jax.Array]:
  """The tutorial's binary cross-entropy; the generator maximises log D(G(z)) (Goodfellow et al., 2014)."""
  bce = optax.sigmoid_binary_cross_entropy
  discriminator_loss = (bce(real_logits, jnp.full_like(real_logits, real_label)).mean()
                        + bce(fake_logits, jnp.zeros_like(fake_logits)).mean())
  return discriminator_loss, bce(fooled_logits, jnp.ones_like(fooled_logits)).mean()


def hinge(real_logits: jax.Array, fake_logits: jax.Array, fooled_logits: jax.Array, *,
          real_label: float = 1.0) -> tuple[jax.Array, jax.Array]:
  """The hinge loss (Lim and Ye, 2017; Miyato et al., 2018); `real_label` is the real images' margin."""
  discriminator_loss = jax.nn.relu(real_label - real_logits).mean() + jax.nn.relu(1.0 + fake_logits).mean()
  return discriminator_loss, -fooled_logits.mean()


GAN_LOSSES: dict[str, GANLoss] = {'non_saturating': non_saturating, 'hinge': hinge}


def r1_penalty(discriminate: Callable[[jax.Array], jax.Array], real: jax.Array) -> jax.Array:
  """Mean over the batch of |d logit / d image|^2 on real images (Mescheder et al., 2018), without the weight/2."""
  gradients = jax.grad(lambda images: discriminate(images).astype(jnp.float32).sum())(real)
  return jnp.mean(jnp.sum(jnp.square(gradients.astype(jnp.float32)), axis=tuple(range(1, real.ndim))))


def mode_seeking(noise: jax.Array, images: jax.Array) -> jax.Array:
  """MSGAN's term (Mao et al., 2019): 1 / (mean |G(z1) - G(z2)| / mean |z1 - z2|) over the batch's two halves paired.

  Lower when nearby noise vectors draw images further apart; added to the generator's loss, it works against
  drawing the same few images for many noise vectors.
  """
  half = noise.shape[0] // 2
  image_distance = jnp.mean(jnp.abs(images[:half] - images[half:2 * half]).astype(jnp.float32))
  noise_distance = jnp.mean(jnp.abs(noise[:half] - noise[half:2 * half]))
  return 1.0 / (image_distance / noise_distance + 1e-5)
