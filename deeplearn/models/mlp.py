"""A multilayer perceptron."""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLP(nn.Module):
  """Dense layers of `hidden` widths with `activation`, then a linear layer of `outputs`."""
  hidden: Sequence[int] = (10, 10)
  outputs: int = 1
  activation: Callable[[jax.Array], jax.Array] = nn.tanh
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters and outputs stay float32.

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train  # No dropout or normalisation.
    for width in self.hidden:
      x = self.activation(nn.Dense(width, dtype=self.dtype)(x))
    return nn.Dense(self.outputs, dtype=self.dtype)(x).astype(jnp.float32)
