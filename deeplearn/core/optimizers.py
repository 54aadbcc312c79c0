"""Optimisers and learning-rate schedules from an `optimizer_config()` group (`deeplearn/core/config.py`)."""

import ml_collections
import optax

from deeplearn.core.errors import UserError

SCHEDULES = ('constant', 'cosine')


def learning_rate_schedule(optimizer: ml_collections.ConfigDict, num_train_steps: int) -> optax.Schedule:
  """`constant`, or `cosine` decay to zero after `warmup_steps` of linear warm-up."""
  if optimizer.schedule == 'constant':
    return optax.constant_schedule(optimizer.learning_rate)
  if optimizer.schedule == 'cosine':
    return optax.warmup_cosine_decay_schedule(
        0.0, optimizer.learning_rate, optimizer.warmup_steps, max(num_train_steps, optimizer.warmup_steps + 1))
  raise UserError(f'optimizer.schedule={optimizer.schedule!r} is unknown; use one of {SCHEDULES}.')


def create_optimizer(optimizer: ml_collections.ConfigDict, num_train_steps: int,
                     learning_rate: optax.Schedule | None = None) -> optax.GradientTransformation:
  """`optax.<optimizer.name>` with `optimizer.kwargs`, on `learning_rate` or else the group's schedule."""
  make = getattr(optax, optimizer.name, None)
  if not callable(make) or optimizer.name.startswith('_'):
    raise UserError(f'optimizer.name={optimizer.name!r} is not an optax optimiser; use e.g. adam, adamw, '
                    'rmsprop or sgd.')
  lr = learning_rate or learning_rate_schedule(optimizer, num_train_steps)
  try:
    return make(learning_rate=lr, **optimizer.kwargs)
  except TypeError as e:
    raise UserError(f'optimizer.kwargs={optimizer.kwargs.to_dict()} do not suit optax.{optimizer.name}: {e}') from e
