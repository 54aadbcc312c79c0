"""The explicit training state every task carries."""

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax.training import train_state


class TrainState(train_state.TrainState):
  """flax's TrainState plus BatchNorm statistics (an empty dict for models without BatchNorm).

  `ema_params`: an average of `params` (exponential or uniform: `update_average`) where the task keeps one
  (`with_average`), else None, which adds nothing to the state's tree (so checkpoints without an average
  restore as before).
  """
  batch_stats: Any = flax.struct.field(default_factory=dict)
  ema_params: Any = None

  def variables(self) -> dict[str, Any]:
    """The variables `apply_fn` takes."""
    return {'params': self.params, 'batch_stats': self.batch_stats}


def create(rng: jax.Array, model: nn.Module, tx: optax.GradientTransformation, *example_inputs: Any) -> TrainState:
  """The initial state of `model`, initialised on `example_inputs` (a batch of one is enough)."""
  variables = model.init(rng, *example_inputs, train=False)
  return TrainState.create(apply_fn=model.apply, params=variables['params'], tx=tx,
                           batch_stats=variables.get('batch_stats', {}))


def with_average(state: TrainState) -> TrainState:
  """`state` keeping an average of its parameters, which starts at the parameters."""
  return state.replace(ema_params=state.params)


def ema_decay(step: jax.Array, decay: float) -> jax.Array:
  """An exponential average's decay after `step` updates: `decay`, or less early on, `(1 + step) / (10 + step)`.

  As TensorFlow's `ExponentialMovingAverage(decay, num_updates=step)`: the first steps' parameters,
  close to the random initialisation, fade from the average quickly.
  """
  return jnp.minimum(decay, (1.0 + step) / (10.0 + step))


def uniform_decay(step: jax.Array, start_step: int) -> jax.Array:
  """The decay that makes the average the plain mean of the parameters after updates `start_step` to `step`.

  Before `start_step` the average is the parameters (decay 0): stochastic weight averaging's mean of iterates.
  """
  return 1.0 - 1.0 / jnp.maximum(step - start_step + 1, 1)


def update_average(state: TrainState, decay: jax.Array) -> TrainState:
  """`state` with its average moved towards its parameters: `ema <- decay * ema + (1 - decay) * params`."""
  return state.replace(ema_params=optax.incremental_update(state.params, state.ema_params, step_size=1.0 - decay))


def averaged(state: TrainState) -> TrainState:
  """`state` with its averaged parameters in place of the raw ones: what evaluation and prediction read."""
  return state.replace(params=state.ema_params)
