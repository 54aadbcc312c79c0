"""Transfer learning: Keras' MobileNetV2 in Flax, backbones from checkpoints, and the frozen first phase."""

import os

import jax
import jax.numpy as jnp
import keras
import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from deeplearn.classification import defaults as classification_defaults, task as classification, transfer
from deeplearn.core import config as defaults, train
from deeplearn.core.errors import UserError
from deeplearn.models import mobilenet_v2
from tests.conftest import load_config, tiny_config

CALTECH_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'configs', 'caltech101_transfer.py')


@pytest.mark.parametrize('alpha,size', [(0.5, 36)])  # 36 -> 18 -> 9 -> 5 -> 3: even and odd sizes.
def test_mobilenet_v2_computes_what_keras_computes_with_converted_weights(alpha, size):
  keras_model = keras.applications.MobileNetV2(input_shape=(size, size, 3), alpha=alpha, weights=None,
                                               classes=7, classifier_activation=None)
  rng = np.random.default_rng(0)
  for layer in keras_model.layers:  # Non-trivial statistics, so that converting them is tested too.
    if type(layer).__name__ == 'BatchNormalization':
      gamma, beta, mean, var = layer.get_weights()
      layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                         rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
  images = rng.uniform(0, 1, (2, size, size, 3)).astype(np.float32)
  model = mobilenet_v2.MobileNetV2(7, alpha)
  variables = mobilenet_v2.variables_from_keras(keras_model)
  initial = jax.eval_shape(model.init, jax.random.key(0), images)
  assert jax.tree.map(jnp.shape, variables) == jax.tree.map(jnp.shape, initial)
  np.testing.assert_allclose(jax.jit(model.apply)(variables, images), keras_model(images * 2 - 1, training=False),
                             rtol=1e-4, atol=1e-5)


def _config(**transfer_fields):
  config = classification_defaults.classification_config()
  config.model_name, config.model = 'resnet', ml_collections.ConfigDict(dict(widths=(4, 8)))
  config.num_classes, config.optimizer = 3, defaults.optimizer_config('adam', 1e-2)
  config.transfer.update(source='unused', backbone=r'^(?!Dense_0/)', **transfer_fields)
  return config


def _state(config, seed=0):
  init = classification.state_initializer(classification.create_model(config),
                                          transfer.two_phase_optimizer(config, 10), (16, 16, 3))
  return init(jax.random.key(seed))


def test_backbone_stays_bit_for_bit_frozen_while_the_head_trains_then_everything_trains():
  config = _config(head_steps=3, finetune_learning_rate=1e-2)
  state = _state(config)
  rng = np.random.default_rng(0)
  batch = {'image': rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8), 'label': rng.integers(0, 3, 8, dtype=np.int32)}
  step = jax.jit(lambda s: classification.train_step(s, batch, jax.random.key(1))[0])
  initial = state.params
  for _ in range(3):
    state = step(state)
  for path, before in jax.tree_util.tree_leaves_with_path(initial):
    after = state.params
    for key in path:
      after = after[key.key]
    name = jax.tree_util.keystr(path)
    if 'Dense_0' in name:
      assert not np.array_equal(before, after), name
    else:
      np.testing.assert_array_equal(before, after, err_msg=name)
  state = step(state)  # Step 4: the second phase trains the backbone too.
  assert not np.array_equal(initial['Conv_0']['kernel'],  # The stem: its gradient flows past the blocks.
                           state.params['Conv_0']['kernel'])


def test_backbone_comes_from_the_source_and_the_new_head_keeps_its_own_shape():
  source_config = _config()
  source_config.num_classes = 1  # The source's head differs, as an age model's does.
  source = _state(source_config, seed=1).variables()
  config = _config()
  init = transfer.initialized_from(lambda rng: _state(config, seed=2), source, config.transfer.backbone)
  state = init(jax.random.key(0))
  np.testing.assert_array_equal(state.params['ResidualBlock_1']['Conv_0']['kernel'],
                                source['params']['ResidualBlock_1']['Conv_0']['kernel'])
  np.testing.assert_array_equal(state.batch_stats['BatchNorm_0']['mean'], source['batch_stats']['BatchNorm_0']['mean'])
  assert state.params['Dense_0']['kernel'].shape == (8, 3)


def test_a_source_with_another_backbone_is_an_error_naming_the_first_mismatch():
  wide = _config()
  wide.model.widths = (4, 16)
  source = _state(wide).variables()
  target = _state(_config()).variables()
  with pytest.raises(UserError, match=r'params/ResidualBlock_1/Conv_0/kernel has shape \(3, 3, 4, 16\) '
                                      r'in the transfer source but \(3, 3, 4, 8\) in this model'):
    transfer.merged(target, source, r'^(?!Dense_0/)')
  with pytest.raises(UserError, match='selects no parameter'):
    transfer.merged(target, target, r'^nothing/')


def test_caltech101_config_fine_tunes_keras_mobilenet_v2_end_to_end(tmp_path, monkeypatch):
  build = keras.applications.MobileNetV2
  converted = []

  def offline_mobilenet_v2(**kwargs):  # ImageNet weights need a download: random ones stand in.
    converted.append(kwargs.pop('weights'))
    return build(weights=None, **kwargs)
  monkeypatch.setattr(keras.applications, 'MobileNetV2', offline_mobilenet_v2)
  config = tiny_config(load_config(CALTECH_CONFIG), str(tmp_path / 'tfds'), batch_size=4, eval_batch_size=4,
                       image_size=32, train_split='train[:8]', eval_split='train[8:12]', **{'model.alpha': 0.35},
                       test_split='test[:4]', num_train_steps=4)
  config.transfer.head_steps = 2
  with tfds.testing.mock_data(num_examples=16):
    summary = train.train_and_evaluate(config, str(tmp_path / 'run'))
  assert converted == ['imagenet']
  assert {'eval/accuracy', 'test/accuracy'} <= set(summary)
