"""Optimisers and learning-rate schedules from config fields."""

import ml_collections
import optax

from deeplearn.errors import UserError


def learning_rate_schedule(config: ml_collections.ConfigDict, num_train_steps: int) -> optax.Schedule:
  """`constant`, or `cosine` decay to zero after `warmup_steps` of linear warm-up."""
  if config.lr_schedule == 'constant':
    return optax.constant_schedule(config.learning_rate)
  if config.lr_schedule == 'cosine':
    return optax.warmup_cosine_decay_schedule(
        0.0, config.learning_rate, config.warmup_steps, max(num_train_steps, config.warmup_steps + 1))
  raise UserError(f"config.lr_schedule={config.lr_schedule!r} is unknown; use 'constant' or 'cosine'.")


def create_optimizer(config: ml_collections.ConfigDict, num_train_steps: int,
                     learning_rate: optax.Schedule | None = None) -> optax.GradientTransformation:
  """The optimiser named by `config.optimizer`, on `learning_rate` or else `learning_rate_schedule`'s."""
  lr = learning_rate or learning_rate_schedule(config, num_train_steps)
  optimizers = {
      'adam': lambda: optax.adam(lr, b1=config.b1),
      'adamw': lambda: optax.adamw(lr, b1=config.b1, weight_decay=config.weight_decay),
      'rmsprop': lambda: optax.rmsprop(lr),
      'keras_rmsprop': lambda: optax.rmsprop(lr, eps=1e-7),  # Keras' epsilon (optax's is 1e-8).
      'sgd': lambda: optax.sgd(lr, momentum=0.9, nesterov=True),
  }
  if config.optimizer not in optimizers:
    raise UserError(f'config.optimizer={config.optimizer!r} is unknown; use one of {sorted(optimizers)}.')
  return optimizers[config.optimizer]()
