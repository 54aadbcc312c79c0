"""The DCGAN task: its joint step, sampling, the generative scores, and the config end to end."""

import functools
import glob
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg
from PIL import Image

from deeplearn.classification import defaults as classification_defaults
from deeplearn.core import checkpoints, history, registry, train
from deeplearn.core.errors import UserError
from deeplearn.dcgan import losses, metrics as generative_metrics, sample, task as dcgan
from deeplearn.models.dcgan import Discriminator, Generator
from tests.conftest import NUM_TRAIN, killed_after_checkpoint, load_config, tiny_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DCGAN_CONFIG = os.path.join(ROOT, 'configs', 'dcgan.py')


def small_state(rng=jax.random.key(0)):
  return jax.jit(functools.partial(
      dcgan.init_state, generator=Generator((8, 4, 4)), discriminator=Discriminator((4, 8)),
      generator_tx=optax.adam(1e-3), discriminator_tx=optax.adam(1e-3), noise_dim=10, image_shape=(28, 28, 1)))(rng)


def test_train_step_updates_both_networks_and_their_batch_statistics():
  state = small_state()
  batch = {'image': np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)}
  new_state, step_metrics = jax.jit(functools.partial(dcgan.train_step, noise_dim=10))(
      state, batch, jax.random.key(1))
  summary = step_metrics.compute()
  assert {'generator_loss', 'discriminator_loss'} <= set(summary)
  assert all(np.isfinite(float(v)) for v in summary.values())
  assert int(new_state.step) == 1
  for old, new in ((state.generator.params, new_state.generator.params),
                   (state.discriminator.params, new_state.discriminator.params),
                   (state.generator.batch_stats, new_state.generator.batch_stats)):
    assert all(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(old), jax.tree.leaves(new)))


def test_generator_average_is_what_its_definition_says():
  state, decay = small_state(), 0.9
  batch = {'image': np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)}
  step = jax.jit(functools.partial(dcgan.train_step, noise_dim=10, ema_decay=decay))
  expected = state.generator.params
  for i in range(3):
    state, _ = step(state, batch, jax.random.key(i))
    expected = jax.tree.map(lambda average, new: decay * average + (1 - decay) * new, expected, state.generator.params)
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-7), state.generator_ema, expected)
  assert not np.allclose(state.generator_ema['Dense_0']['kernel'], state.generator.params['Dense_0']['kernel'])


def test_gan_losses_are_exact_on_hand_made_logits():
  real, fake = jnp.array([2.0, -0.5]), jnp.array([0.5, -3.0])
  d_loss, g_loss = losses.hinge(real, fake, fake)
  assert float(d_loss) == pytest.approx((0 + 1.5) / 2 + (1.5 + 0) / 2)
  assert float(g_loss) == pytest.approx(1.25)
  softplus = lambda x: np.log1p(np.exp(x))
  d_loss, g_loss = losses.non_saturating(real, fake, fake, real_label=0.9)
  real, fake = np.asarray(real), np.asarray(fake)  # The expected values in NumPy, as pytest.approx reads them.
  # BCE(logit, target) = softplus(logit) - target * logit.
  assert float(d_loss) == pytest.approx(np.mean(softplus(real) - 0.9 * real) + np.mean(softplus(fake)), rel=1e-6)
  assert float(g_loss) == pytest.approx(np.mean(softplus(fake) - fake), rel=1e-6)


def test_r1_penalty_is_the_squared_gradient_norm_on_real_images():
  weights = jax.random.normal(jax.random.key(0), (4, 4, 1))
  linear = lambda images: jnp.sum(images * weights, axis=(1, 2, 3)) ** 2 / 2  # d/dx = (w . x) w
  images = jax.random.normal(jax.random.key(1), (3, 4, 4, 1))
  dots = np.sum(np.asarray(images) * np.asarray(weights), axis=(1, 2, 3))
  expected = np.mean(dots ** 2) * np.sum(np.asarray(weights) ** 2)
  assert float(losses.r1_penalty(linear, images)) == pytest.approx(expected, rel=1e-5)


def test_r1_weight_adds_its_share_of_the_penalty_to_the_discriminator_loss_only():
  state = small_state()
  batch = {'image': np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)}
  step_gradients = jax.jit(functools.partial(dcgan.step_gradients, noise_dim=10, gan_loss=losses.hinge),
                           static_argnames='r1_weight')
  grads = {weight: step_gradients(state, batch, jax.random.key(1), r1_weight=weight) for weight in (0.0, 1.0, 2.0)}
  added = {weight: float(grads[weight].discriminator_loss - grads[0.0].discriminator_loss) for weight in (1.0, 2.0)}
  assert added[1.0] > 0 and added[2.0] == pytest.approx(2 * added[1.0], rel=1e-4)
  assert float(grads[2.0].generator_loss) == float(grads[0.0].generator_loss)
  jax.tree.map(np.testing.assert_array_equal, grads[2.0].generator, grads[0.0].generator)


def test_mode_seeking_term_is_noise_distance_over_image_distance_between_the_halves():
  noise = jnp.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [1.0, 4.0]])  # Pairs (0, 2) and (1, 3): |dz| 2 and 3.
  images = jnp.zeros((4, 2, 2, 1)).at[2].set(0.5).at[3].set(-1.0)  # |dG| 0.5 and 1.0 at every pixel.
  assert float(losses.mode_seeking(noise, images)) == pytest.approx(1 / (0.75 / 1.25 + 1e-5), rel=1e-6)


def test_mode_seeking_weight_adds_its_share_of_the_term_to_the_generator_loss_only():
  state = small_state()
  batch = {'image': np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)}
  step_gradients = jax.jit(functools.partial(dcgan.step_gradients, noise_dim=10),
                           static_argnames='mode_seeking_weight')
  grads = {weight: step_gradients(state, batch, jax.random.key(1), mode_seeking_weight=weight)
           for weight in (0.0, 1.0, 2.0)}
  added = {weight: float(grads[weight].generator_loss - grads[0.0].generator_loss) for weight in (1.0, 2.0)}
  assert added[1.0] > 0 and added[2.0] == pytest.approx(2 * added[1.0], rel=1e-4)
  assert float(grads[2.0].discriminator_loss) == float(grads[0.0].discriminator_loss)
  jax.tree.map(np.testing.assert_array_equal, grads[2.0].discriminator, grads[0.0].discriminator)
  assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(grads[1.0].generator),
                                                     jax.tree.leaves(grads[0.0].generator)))


def test_generated_batch_size_sets_how_many_images_the_generator_draws_beside_the_real_ones():
  state, rng = small_state(), jax.random.key(1)
  batch = {'image': np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)}
  grads = jax.jit(functools.partial(dcgan.step_gradients, noise_dim=10, generated_batch_size=3))(state, batch, rng)
  noise_rng, _, fake_dropout_rng = jax.random.split(rng, 3)
  gen, disc = state.generator, state.discriminator
  fake, _ = gen.apply_fn(gen.variables(), jax.random.normal(noise_rng, (3, 10)), train=True, mutable=['batch_stats'])
  logits = disc.apply_fn({'params': disc.params}, fake, train=True, rngs={'dropout': fake_dropout_rng})
  expected = optax.sigmoid_binary_cross_entropy(logits, jnp.ones_like(logits)).mean()
  assert float(grads.generator_loss) == pytest.approx(float(expected), rel=1e-5)


def test_unknown_gan_loss_is_one_clear_error(data_dir, tmp_path):
  with pytest.raises(UserError, match=r"gan_loss='wasserstein' is unknown; use one of \['hinge', 'non_saturating'\]"):
    dcgan.get_task(dcgan_config(data_dir, gan_loss='wasserstein'), str(tmp_path))


def test_samplers_recompute_batchnorm_statistics_so_eval_mode_draws_what_train_mode_draws():
  state = small_state()
  noise = jax.random.normal(jax.random.key(2), (64, 10))
  generator = Generator((8, 4, 4))
  parts = dcgan.samplers(state, generator=generator, statistics_noise=noise, ema_decay=0.5)
  assert set(parts) == {dcgan.SAMPLER, dcgan.RAW}
  # The running statistics start at mean 0, variance 1 and lag the weights; recomputed, they are the batch's.
  train_mode, _ = generator.apply(state.generator.variables(), noise, train=True, mutable=['batch_stats'])
  np.testing.assert_allclose(dcgan.generate(parts[dcgan.RAW], noise), train_mode, rtol=1e-4, atol=1e-5)
  assert not np.allclose(dcgan.generate(state.generator, noise), train_mode, atol=1e-3)


def test_generator_draws_28x28_images_in_range_from_its_running_statistics():
  generator = small_state().generator
  noise = jax.random.normal(jax.random.key(2), (5, 10))
  drawn = dcgan.generate(generator, noise)
  assert drawn.shape == (5, 28, 28, 1)
  assert float(jnp.min(drawn)) >= -1.0 and float(jnp.max(drawn)) <= 1.0
  shifted = generator.replace(batch_stats=jax.tree.map(lambda x: x + 0.5, generator.batch_stats))
  assert not np.allclose(drawn, dcgan.generate(shifted, noise))  # Sampling reads the running statistics ...
  _, updates = generator.apply_fn(generator.variables(), noise, train=False, mutable=['batch_stats'])
  jax.tree.map(np.testing.assert_array_equal, updates['batch_stats'], generator.batch_stats)  # ... and keeps them.


def test_frechet_distance_matches_scipy():
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(200, 6)), rng.normal(1.0, 2.0, size=(300, 6)) @ rng.normal(size=(6, 6))
  mean_a, cov_a, mean_b, cov_b = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
  expected = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b)
              - 2 * np.trace(scipy.linalg.sqrtm(cov_a @ cov_b).real))
  assert generative_metrics.frechet_distance(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-6)


def _scores(real_features, fake_features, fake_logits, batch_size):
  """The statistics accumulated batch by batch, as evaluation does, with a padded last batch."""
  total = None
  for start in range(0, len(real_features), batch_size):
    chunk = slice(start, start + batch_size)
    size = len(real_features[chunk])
    pad = lambda x: np.concatenate([x[chunk], np.zeros((batch_size - size,) + x.shape[1:], x.dtype)])
    batch = generative_metrics.GenerativeMetrics.single_from_model_output(
        real_features=pad(real_features), fake_features=pad(fake_features), fake_logits=pad(fake_logits),
        mask=np.arange(batch_size) < size)
    total = batch if total is None else total.merge(batch)
  return total.compute()


def test_scores_are_zero_for_one_distribution_large_for_noise_and_exact_on_batches():
  rng = np.random.default_rng(1)
  digits = rng.normal(size=(5000, 4)) @ np.diag([1.0, 2.0, 0.5, 1.0])
  same = rng.normal(size=(5000, 4)) @ np.diag([1.0, 2.0, 0.5, 1.0])
  confident_uniform = 20.0 * np.eye(10)[np.arange(5000) % 10]
  scores = _scores(digits.astype(np.float32), same.astype(np.float32), confident_uniform.astype(np.float32), 512)
  assert scores['fid'] < 0.02
  assert scores['inception_score'] == pytest.approx(10.0, rel=1e-3)  # Confident and even: the maximum.
  assert scores['class_entropy'] == pytest.approx(np.log(10), rel=1e-6)
  noise = rng.uniform(-10, 10, size=(5000, 4)).astype(np.float32)
  one_class = np.tile(20.0 * np.eye(10)[0], (5000, 1)).astype(np.float32)
  scores = _scores(digits.astype(np.float32), noise, one_class, 512)
  assert scores['fid'] > 50
  assert scores['inception_score'] == pytest.approx(1.0, rel=1e-3)
  assert scores['class_entropy'] == pytest.approx(0.0, abs=1e-6)

  real, fake = digits[:300].astype(np.float32), same[:300].astype(np.float32)
  expected = generative_metrics.frechet_distance(real.mean(0), np.cov(real, rowvar=False, bias=True),
                                                 fake.mean(0), np.cov(fake, rowvar=False, bias=True))
  assert _scores(real, fake, confident_uniform[:300], 64)['fid'] == pytest.approx(expected, rel=1e-4, abs=1e-5)


def dcgan_config(data_dir, **overrides):
  return tiny_config(load_config(DCGAN_CONFIG), data_dir, num_grid_samples=4, num_fid_samples=20,
                     num_statistics_samples=32, ema_decay=0.5,
                     **{'generator.features': (8, 4, 4), 'discriminator.features': (4, 8)}, **overrides)


def test_dcgan_config_trains_scores_renders_and_resumes(data_dir, classifier_workdir, tmp_path):
  config = dcgan_config(data_dir, fid_classifier_workdir=classifier_workdir)
  summary = train.train_and_evaluate(config, str(tmp_path / 'unbroken'))
  assert set(summary) == {f'{split}/{sampler}{name}' for split in ('eval', 'test') for sampler in ('', 'raw/')
                          for name in ('fid', 'inception_score', 'class_entropy')}
  assert summary['eval/fid'] != summary['eval/raw/fid']  # The averaged generator and the raw one.
  assert summary['eval/fid'] > 0 and 1.0 <= summary['eval/inception_score'] <= 10.0
  assert summary['eval/fid'] != summary['test/fid']  # Against training images, then against the test images.
  grids = sorted(glob.glob(str(tmp_path / 'unbroken' / 'images' / 'samples_*.png')))
  assert [os.path.basename(g) for g in grids] == ['samples_00000003.png', 'samples_00000006.png']
  assert Image.open(grids[-1]).size == (2 + 2 * 30, 2 + 2 * 30)  # A 2x2 grid of 28x28 digits.
  assert Image.open(tmp_path / 'unbroken' / 'images' / 'samples.gif').n_frames == 2
  scalars = history.read_scalars(str(tmp_path / 'unbroken'))
  assert [step for step, _ in scalars['eval/fid']] == [3, 6]
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'unbroken' / 'images' / 'fid_00000006.png')),
                                dcgan.plot_fid(scalars, epoch_steps=NUM_TRAIN // 16)['fid'])

  with killed_after_checkpoint(stop_step=3):
    train.train_and_evaluate(config, str(tmp_path / 'resumed'))
  train.train_and_evaluate(config, str(tmp_path / 'resumed'))
  resumed, _ = checkpoints.restore_latest_as_saved(str(tmp_path / 'resumed'))
  unbroken, _ = checkpoints.restore_latest_as_saved(str(tmp_path / 'unbroken'))
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-5, atol=1e-6),
               resumed['state'], unbroken['state'])

  grid, step = sample.draw(str(tmp_path / 'resumed'), num=9, seed=0, scale=2)
  assert step == 6 and grid.shape == (2 + 3 * 58, 2 + 3 * 58, 1)  # 3x3 digits of 56x56 pixels.
  # The same seed draws the same digits.
  assert np.array_equal(grid, sample.draw(str(tmp_path / 'resumed'), num=9, seed=0, scale=2)[0])


def test_missing_classifier_checkpoint_is_a_clear_error_before_training(data_dir, tmp_path):
  config = dcgan_config(data_dir, fid_classifier_workdir=str(tmp_path / 'nowhere'))
  with pytest.raises(UserError, match='not the workdir of a training run'):
    registry.get_task(config, str(tmp_path / 'run'))
  (tmp_path / 'empty').mkdir()
  (tmp_path / 'empty' / 'config.json').write_text(
      classification_defaults.classification_config().to_json())
  with pytest.raises(UserError, match='holds no checkpoint'):
    train.train_and_evaluate(dcgan_config(data_dir, fid_classifier_workdir=str(tmp_path / 'empty')),
                             str(tmp_path / 'run'))
  assert not os.path.exists(tmp_path / 'run' / 'checkpoints')


def test_sampling_rebuilds_the_generator_without_importing_tensorflow():
  """`deeplearn.dcgan.sample` loads what `draw` uses (the task module, the run loader) but not TensorFlow or TFDS,
  which take seconds to import."""
  code = ('import sys\n'
          'from deeplearn.core import registry\n'
          'from deeplearn.dcgan import sample\n'
          'registry.task_module("dcgan")  # As `runs.load` asks for it.\n'
          'print(sorted(m for m in ("tensorflow", "tensorflow_datasets") if m in sys.modules))\n')
  result = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=120)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.split() == ['[]']
