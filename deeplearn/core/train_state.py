"""The explicit training state every task carries."""

from typing import Any

import flax
import flax.linen as nn
import jax
import optax
from flax.training import train_state


class TrainState(train_state.TrainState):
  """flax's TrainState plus BatchNorm statistics (an empty dict for models without BatchNorm)."""
  batch_stats: Any = flax.struct.field(default_factory=dict)

  def variables(self) -> dict[str, Any]:
    """The variables `apply_fn` takes."""
    return {'params': self.params, 'batch_stats': self.batch_stats}


def create(rng: jax.Array, model: nn.Module, tx: optax.GradientTransformation, *example_inputs: Any) -> TrainState:
  """The initial state of `model`, initialised on `example_inputs` (a batch of one is enough)."""
  variables = model.init(rng, *example_inputs, train=False)
  return TrainState.create(apply_fn=model.apply, params=variables['params'], tx=tx,
                           batch_stats=variables.get('batch_stats', {}))
