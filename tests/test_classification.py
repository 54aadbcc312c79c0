import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from deeplearn.classification import task as classification
from deeplearn.core.errors import UserError
from deeplearn.core.train_state import TrainState
from deeplearn.data import augment
from deeplearn.models import cnn

SMALL_MODELS = {'strong_cnn': dict(widths=(4, 8), head_features=0, dropout_rate=0.3),
                'resnet': dict(widths=(4, 8), blocks_per_stage=1, dropout_rate=0.0)}


def init(model, tx):
  return classification.state_initializer(model, tx, (28, 28, 1))(jax.random.key(0))


def _batch(n=32, seed=0):
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, 10, n)
  images = rng.integers(0, 60, (n, 28, 28, 1)).astype(np.uint8)
  images[np.arange(n), labels * 2 + 4, 4:24] = 255
  return {'image': jnp.asarray(images), 'label': jnp.asarray(labels)}


@pytest.mark.parametrize('model', [cnn.OriginalCNN(dropout_rate=0.25), cnn.StrongCNN(widths=(4, 8))])
def test_train_steps_lower_the_loss_on_a_fixed_batch(model):
  state = init(model, optax.adam(1e-2))
  step = jax.jit(functools.partial(classification.train_step, max_shift=1))
  batch = _batch()
  losses = []
  for i in range(20):
    state, metrics = step(state, batch, jax.random.key(i))
    losses.append(float(metrics.compute()['loss']))
  assert int(state.step) == 20
  assert losses[-1] < 0.8 * losses[0]


def test_batchnorm_statistics_update_in_training_and_evaluation_uses_them():
  state = init(cnn.StrongCNN(widths=(4, 8)), optax.adam(1e-3))
  new_state, _ = jax.jit(classification.train_step)(state, _batch(), jax.random.key(1))
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), state.batch_stats, new_state.batch_stats)
  assert all(jax.tree.leaves(changed))
  # On the running statistics an example's prediction does not depend on the rest of its batch (on batch
  # statistics it would): the first 8 alone score what they score among 32 with the other 24 masked out.
  batch = _batch()
  alone = {k: v[:8] for k, v in batch.items()} | {'mask': jnp.ones(8, bool)}
  among = batch | {'mask': jnp.arange(32) < 8}
  eval_step = jax.jit(classification.eval_step)
  scores = lambda state, batch: {k: float(v) for k, v in eval_step(state, batch).compute().items()}
  for state_ in (state, new_state):
    assert scores(state_, alone) == pytest.approx(scores(state_, among), rel=1e-5)


def test_eval_step_metrics_are_exact_on_a_hand_made_batch():
  logits = jnp.array([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0], [5.0, -5.0]])
  state = TrainState.create(apply_fn=lambda variables, images, train: logits, params={},
                            tx=optax.identity())
  batch = {'image': jnp.zeros((4, 1, 1, 1), jnp.uint8), 'label': jnp.array([0, 0, 0, 1]),
           'mask': jnp.array([True, True, True, False])}  # The last row is padding.
  result = classification.eval_step(state, batch).compute()
  losses = optax.softmax_cross_entropy_with_integer_labels(logits[:3], batch['label'][:3])
  assert float(result['accuracy']) == pytest.approx(2 / 3)
  assert float(result['loss']) == pytest.approx(float(losses.mean()), rel=1e-6)


def test_augment_shifts_within_bounds_and_keeps_shape():
  images = jnp.zeros((8, 28, 28, 1)).at[:, 14, 14, 0].set(1.0)
  shifted = augment.augment(jax.random.key(0), images, max_shift=2, flip=True)
  assert shifted.shape == images.shape
  rows, cols = np.nonzero(np.asarray(shifted[..., 0]).sum(0))
  assert shifted.sum() == 8 and rows.min() >= 12 and rows.max() <= 16 and cols.min() >= 11


def test_flip_average_scores_the_mean_probability_of_an_image_and_its_mirror():
  # A "model" whose logits are the pixel row: mirroring reverses them.
  state = TrainState.create(apply_fn=lambda variables, images, train: images[:, 0, :, 0] * 4.0, params={},
                            tx=optax.identity())
  pixels = np.array([[[0, 255, 204]], [[255, 0, 0]]], np.uint8)[..., None]  # (2, 1, 3, 1)
  batch = {'image': jnp.asarray(pixels), 'label': jnp.array([1, 1]), 'mask': jnp.array([True, True])}
  result = classification.eval_step(state, batch, flip_average=True).compute()
  logits = jnp.asarray(pixels[:, 0, :, 0], jnp.float32) / 255 * 4
  probs = (jax.nn.softmax(logits) + jax.nn.softmax(logits[:, ::-1])) / 2
  assert float(result['loss']) == pytest.approx(float(-jnp.log(probs[:, 1]).mean()), rel=1e-6)
  assert float(result['accuracy']) == 0.5  # Class 1 tops the first image's mean, not the second's.


def _equations(jaxpr):
  """Every equation of a jaxpr, those of the jaxprs nested in it (jit, custom_vjp, ...) included."""
  for eqn in jaxpr.eqns:
    yield eqn
    for param in eqn.params.values():
      for sub in param if isinstance(param, (list, tuple)) else [param]:
        if isinstance(sub, jax.extend.core.ClosedJaxpr):
          yield from _equations(sub.jaxpr)
        elif isinstance(sub, jax.extend.core.Jaxpr):
          yield from _equations(sub)


@pytest.mark.parametrize('model_name', ['strong_cnn', 'resnet'])
def test_bfloat16_steps_compute_in_bfloat16_and_keep_float32_state(make_config, model_name):
  config = make_config(model_name=model_name, model=SMALL_MODELS[model_name], compute_dtype='bfloat16')
  state = init(classification.create_model(config), optax.adam(1e-2))
  jaxpr = jax.make_jaxpr(classification.train_step)(state, _batch(), jax.random.key(1)).jaxpr
  products = [eqn for eqn in _equations(jaxpr) if eqn.primitive.name in ('dot_general', 'conv_general_dilated')]
  assert len(products) > 10  # Forward and backward: matmuls and convolutions, however each layer computes.
  assert {v.aval.dtype for eqn in products for v in eqn.invars} == {jnp.dtype(jnp.bfloat16)}
  step = jax.jit(classification.train_step)
  losses = []
  for i in range(20):
    state, metrics = step(state, _batch(), jax.random.key(i))
    losses.append(float(metrics.compute()['loss']))
  assert losses[-1] < 0.9 * losses[0]
  floats = [x for x in jax.tree.leaves((state.params, state.opt_state, state.batch_stats))
            if jnp.issubdtype(x.dtype, jnp.floating)]
  assert floats and {x.dtype for x in floats} == {jnp.dtype(jnp.float32)}


def test_an_unknown_compute_dtype_is_a_clear_error(make_config):
  with pytest.raises(UserError, match="compute_dtype='float16' is not one of"):
    classification.create_model(make_config(compute_dtype='float16'))


def test_model_fields_of_another_model_are_a_clear_error(make_config):
  config = make_config(model_name='resnet')  # config.model still holds the strong CNN's head_features.
  with pytest.raises(UserError, match="config.model has head_features, which model 'resnet' does not take"):
    classification.create_model(config)
  with pytest.raises(UserError, match="config.model_name='vgg' is unknown"):
    classification.create_model(make_config(model_name='vgg'))
