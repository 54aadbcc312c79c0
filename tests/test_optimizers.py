import jax.numpy as jnp
import keras
import ml_collections
import numpy as np
import optax
import pytest

from deeplearn import optimizers
from deeplearn.errors import UserError


def optimizer_config(name: str) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(optimizer=name, learning_rate=1e-3, lr_schedule='constant',
                                        warmup_steps=0, b1=0.9, weight_decay=0.0))


def test_keras_rmsprop_takes_keras_steps():
  gradients = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32) * [1.0, 1e-3, 1e-6, 0.0]
  variable = keras.Variable(np.ones(4, np.float32))
  keras_rmsprop = keras.optimizers.RMSprop(learning_rate=1e-3)
  tx = optimizers.create_optimizer(optimizer_config('keras_rmsprop'), 5)
  params = jnp.ones(4)
  opt_state = tx.init(params)
  for gradient in gradients:
    keras_rmsprop.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
    updates, opt_state = tx.update(jnp.asarray(gradient), opt_state, params)
    params = optax.apply_updates(params, updates)
  np.testing.assert_allclose(params, np.asarray(variable), rtol=1e-6)


def test_unknown_optimizer_is_a_clear_error():
  with pytest.raises(UserError, match="config.optimizer='lamb' is unknown"):
    optimizers.create_optimizer(optimizer_config('lamb'), 5)
