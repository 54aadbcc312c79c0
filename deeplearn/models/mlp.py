"""A multilayer perceptron."""

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax


class MLP(nn.Module):
  """Dense layers of `hidden` widths with `activation`, then a linear layer of `outputs`."""
  hidden: Sequence[int] = (10, 10)
  outputs: int = 1
  activation: Callable[[jax.Array], jax.Array] = nn.tanh

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    del train  # No dropout or normalisation.
    for width in self.hidden:
      x = self.activation(nn.Dense(width)(x))
    return nn.Dense(self.outputs)(x)
