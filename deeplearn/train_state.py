"""The explicit training state every task carries."""

from typing import Any

import flax
from flax.training import train_state


class TrainState(train_state.TrainState):
  """flax's TrainState plus BatchNorm statistics (an empty dict for models without BatchNorm)."""
  batch_stats: Any = flax.struct.field(default_factory=dict)

  def variables(self) -> dict[str, Any]:
    """The variables `apply_fn` takes."""
    return {'params': self.params, 'batch_stats': self.batch_stats}
