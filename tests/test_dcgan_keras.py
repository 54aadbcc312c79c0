"""The DCGAN step computes what the TensorFlow tutorial's Keras models and two gradient tapes compute."""

import jax
import keras
import numpy as np
import optax
import tensorflow as tf

from deeplearn.dcgan import task as dcgan
from deeplearn.models.dcgan import Discriminator, Generator

NOISE_DIM, BATCH = 100, 8
# The flax modules holding each Keras layer's trainable weights, in the Keras models' layer order.
GENERATOR_LAYERS = ('Dense_0', 'BatchNorm_0', 'ConvTranspose_0', 'BatchNorm_1', 'ConvTranspose_1',
                    'BatchNorm_2', 'ConvTranspose_2')
DISCRIMINATOR_LAYERS = ('Conv_0', 'Conv_1', 'Dense_0')


def tutorial_generator() -> keras.Sequential:
  """`make_generator_model()` of the TensorFlow DCGAN tutorial."""
  layers = keras.layers
  return keras.Sequential([
      keras.Input((NOISE_DIM,)),
      layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
      layers.Reshape((7, 7, 256)),
      layers.Conv2DTranspose(128, (5, 5), strides=(1, 1), padding='same', use_bias=False),
      layers.BatchNormalization(), layers.LeakyReLU(),
      layers.Conv2DTranspose(64, (5, 5), strides=(2, 2), padding='same', use_bias=False),
      layers.BatchNormalization(), layers.LeakyReLU(),
      layers.Conv2DTranspose(1, (5, 5), strides=(2, 2), padding='same', use_bias=False, activation='tanh'),
  ])


def tutorial_discriminator() -> keras.Sequential:
  """`make_discriminator_model()` of the tutorial with its dropout off: the two frameworks draw other masks."""
  layers = keras.layers
  return keras.Sequential([
      keras.Input((28, 28, 1)),
      layers.Conv2D(64, (5, 5), strides=(2, 2), padding='same'), layers.LeakyReLU(), layers.Dropout(0.0),
      layers.Conv2D(128, (5, 5), strides=(2, 2), padding='same'), layers.LeakyReLU(), layers.Dropout(0.0),
      layers.Flatten(), layers.Dense(1),
  ])


def as_flax(keras_model: keras.Sequential, values: list, flax_layers: tuple[str, ...]) -> dict:
  """Values in the order of `keras_model.trainable_variables` (weights or their gradients) as a flax tree."""
  values = iter(np.asarray(v) for v in values)
  tree = {}
  for layer, name in zip([layer for layer in keras_model.layers if layer.trainable_weights], flax_layers, strict=True):
    if isinstance(layer, keras.layers.BatchNormalization):
      tree[name] = {'scale': next(values), 'bias': next(values)}
      continue
    kernel = next(values)
    if isinstance(layer, keras.layers.Conv2DTranspose):  # (h, w, out, in), applied as a convolution's gradient.
      kernel = kernel[::-1, ::-1].transpose(0, 1, 3, 2)
    tree[name] = {'kernel': kernel} | ({'bias': next(values)} if layer.use_bias else {})
  assert next(values, None) is None
  return tree


def test_one_step_has_the_tutorials_losses_and_every_gradient():
  generator, discriminator = tutorial_generator(), tutorial_discriminator()
  state = dcgan.init_state(jax.random.key(0), generator=Generator(), discriminator=Discriminator(dropout_rate=0.0),
                           generator_tx=optax.sgd(0.0), discriminator_tx=optax.sgd(0.0), noise_dim=NOISE_DIM,
                           image_shape=(28, 28, 1))
  g_params = as_flax(generator, generator.trainable_variables, GENERATOR_LAYERS)
  d_params = as_flax(discriminator, discriminator.trainable_variables, DISCRIMINATOR_LAYERS)
  # The same tree structure and shapes as the flax modules' own parameters.
  assert jax.tree.map(np.shape, g_params) == jax.tree.map(np.shape, state.generator.params)
  assert jax.tree.map(np.shape, d_params) == jax.tree.map(np.shape, state.discriminator.params)
  state = state.replace(generator=state.generator.replace(params=g_params),
                        discriminator=state.discriminator.replace(params=d_params))
  images = np.random.default_rng(0).integers(0, 256, (BATCH, 28, 28, 1)).astype(np.uint8)
  rng = jax.random.key(3)
  noise = np.asarray(jax.random.normal(jax.random.split(rng, 3)[0], (BATCH, NOISE_DIM)))  # What the step draws.

  # The tutorial's train_step: two tapes over one forward pass.
  cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)
  real = tf.constant(images, tf.float32) / 127.5 - 1.0
  with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
    generated = generator(noise, training=True)
    real_output = discriminator(real, training=True)
    fake_output = discriminator(generated, training=True)
    gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
    disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                 + cross_entropy(tf.zeros_like(fake_output), fake_output))
  keras_g_grads = as_flax(generator, gen_tape.gradient(gen_loss, generator.trainable_variables), GENERATOR_LAYERS)
  keras_d_grads = as_flax(discriminator, disc_tape.gradient(disc_loss, discriminator.trainable_variables),
                          DISCRIMINATOR_LAYERS)

  ours = jax.jit(dcgan.step_gradients, static_argnames='noise_dim')(state, {'image': images}, rng,
                                                                      noise_dim=NOISE_DIM)
  np.testing.assert_allclose(ours.generator_loss, float(gen_loss), rtol=1e-5)
  np.testing.assert_allclose(ours.discriminator_loss, float(disc_loss), rtol=1e-5)
  # Each gradient as a whole (< 5%): TensorFlow (with oneDNN, in an order that varies from run to run) and XLA sum in
  # other orders through two networks, which can move small elements by a few percent; a misrouted gradient is
  # off by about its whole size (0.95 for the generator's first BatchNorm when a stop-gradient is dropped).
  for our_grads, keras_grads in ((ours.generator, keras_g_grads), (ours.discriminator, keras_d_grads)):
    for path, ours_leaf in jax.tree_util.tree_leaves_with_path(our_grads):
      theirs = keras_grads
      for key in path:
        theirs = theirs[key.key]
      error = np.linalg.norm(np.asarray(ours_leaf) - theirs) / np.linalg.norm(theirs)
      assert error < 0.05, f'{jax.tree_util.keystr(path)}: relative error {error:.4f}'
