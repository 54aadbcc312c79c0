import jax.numpy as jnp
import keras
import numpy as np
import optax
import pytest

from deeplearn.core import config as defaults, optimizers
from deeplearn.core.errors import UserError


def test_rmsprop_with_keras_epsilon_takes_keras_steps():
  gradients = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32) * [1.0, 1e-3, 1e-6, 0.0]
  variable = keras.Variable(np.ones(4, np.float32))
  keras_rmsprop = keras.optimizers.RMSprop(learning_rate=1e-3)
  tx = optimizers.create_optimizer(defaults.optimizer_config('rmsprop', 1e-3, eps=1e-7), 5)
  params = jnp.ones(4)
  opt_state = tx.init(params)
  for gradient in gradients:
    keras_rmsprop.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
    updates, opt_state = tx.update(jnp.asarray(gradient), opt_state, params)
    params = optax.apply_updates(params, updates)
  np.testing.assert_allclose(params, np.asarray(variable), rtol=1e-6)


def test_unknown_optimizer_or_argument_is_a_clear_error():
  with pytest.raises(UserError, match="optimizer.name='adamm' is not an optax optimiser"):
    optimizers.create_optimizer(defaults.optimizer_config('adamm', 1e-3), 5)
  with pytest.raises(UserError, match=r"optimizer.kwargs=\{'beta1': 0.5\} do not suit optax.adam"):
    optimizers.create_optimizer(defaults.optimizer_config('adam', 1e-3, beta1=0.5), 5)
  with pytest.raises(UserError, match="optimizer.schedule='step' is unknown"):
    optimizers.create_optimizer(defaults.optimizer_config('adam', 1e-3, 'step'), 5)


def test_cosine_schedule_warms_up_then_decays_to_zero():
  schedule = optimizers.learning_rate_schedule(defaults.optimizer_config('adam', 1.0, 'cosine', 10), 110)
  assert [float(schedule(step)) for step in (0, 5, 10, 60, 110)] == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])
