"""DCGAN on MNIST: one pure step trains the generator and the discriminator together, as the original did.

Evaluation renders a grid from a fixed noise batch and, when `config.fid_classifier_workdir` names
a trained classifier, scores 10,000 generated digits against 10,000 training images (`eval/*`, what
recipes are chosen on) and, once at the end, against the test images (`test/*`).
"""

import functools
from collections.abc import Callable
from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from clu import metrics

from deeplearn import models
from deeplearn.core import images, optimizers, plots, runs
from deeplearn.core.errors import UserError
from deeplearn.core.history import History
from deeplearn.core.input_pipeline import Batch
from deeplearn.core.metrics import NamedMetrics
from deeplearn.core.task import (
    EvalSplit, Task, eval_split, loader_kwargs, num_train_steps, shuffled_batches, test_splits
)
from deeplearn.core.train_state import TrainState
from deeplearn.data import augment
from deeplearn.dcgan import losses, metrics as generative_metrics

# Streams of the run's key (`jax.random.key(config.seed)`) for the fixed noise batches.
_EVAL_NOISE_STREAM, _GRID_NOISE_STREAM, _STATISTICS_NOISE_STREAM = 1, 2, 3
SAMPLER, RAW = '', 'raw'  # The generator that samples (averaged weights when ema_decay > 0), and the raw one.


@flax.struct.dataclass
class GANState:
  """Both networks' states, advanced together; `step` counts joint updates.

  `generator_ema` is the exponential moving average of the generator's parameters (with decay 0, the
  parameters themselves).
  """
  step: jax.Array
  generator: TrainState
  discriminator: TrainState
  generator_ema: Any


@flax.struct.dataclass
class GANTrainMetrics(metrics.Collection):
  generator_loss: metrics.Average.from_output('generator_loss')
  discriminator_loss: metrics.Average.from_output('discriminator_loss')
  discriminator_accuracy: metrics.Average.from_output('discriminator_accuracy')


def create_generator(config: ml_collections.ConfigDict) -> nn.Module:
  return models.create('dcgan_generator', config.generator, config.compute_dtype, config.conv)


def create_discriminator(config: ml_collections.ConfigDict) -> nn.Module:
  return models.create('dcgan_discriminator', config.discriminator, config.compute_dtype, config.conv)


def trained_model(config: ml_collections.ConfigDict, workdir: str) -> nn.Module:
  """The generator: noise `(N, noise_dim)` to images in [-1, 1]."""
  del workdir  # The config is all it takes.
  return create_generator(config)


def trained_variables(state: dict) -> dict:
  """The sampling generator's parameters (averaged), with the raw generator's running statistics.

  `sampling_statistics` recomputes statistics that suit them, as evaluation does.
  """
  return {'params': state['generator_ema'], 'batch_stats': state['generator']['batch_stats']}


def sampling_statistics(generator: nn.Module, params: Any, batch_stats: Any, noise: jax.Array) -> Any:
  """BatchNorm statistics of `params` on `noise` (one large fixed batch), for sampling.

  The running averages lag the weights early in training (momentum 0.99 remembers ~100 steps); the
  statistics of one batch of the current weights do not. With them, eval-mode samples of `noise` are
  what train mode gives.
  """
  _, updates = generator.clone(batch_norm_momentum=0.0).apply(
      {'params': params, 'batch_stats': batch_stats}, noise, train=True, mutable=['batch_stats'])
  return updates['batch_stats']


def to_signed(pixels: jax.Array) -> jax.Array:
  """uint8 pixels to float32 in [-1, 1], the generator's range."""
  return pixels.astype(jnp.float32) / 127.5 - 1.0


def to_unit(images: jax.Array) -> jax.Array:
  """Generated images from [-1, 1] to [0, 1], the classifier's and the image files' range."""
  return (images + 1.0) / 2.0


def init_state(rng: jax.Array, *, generator: nn.Module, discriminator: nn.Module,
               generator_tx: optax.GradientTransformation, discriminator_tx: optax.GradientTransformation,
               noise_dim: int, image_shape: tuple[int, ...]) -> GANState:
  generator_rng, discriminator_rng = jax.random.split(rng)
  g_vars = generator.init(generator_rng, jnp.zeros((1, noise_dim)), train=False)
  d_vars = discriminator.init(discriminator_rng, jnp.zeros((1, *image_shape)), train=False)
  return GANState(
      step=jnp.zeros((), jnp.int32),
      generator=TrainState.create(apply_fn=generator.apply, params=g_vars['params'], tx=generator_tx,
                                  batch_stats=g_vars['batch_stats']),
      discriminator=TrainState.create(apply_fn=discriminator.apply, params=d_vars['params'], tx=discriminator_tx),
      generator_ema=g_vars['params'])


@flax.struct.dataclass
class GANGradients:
  """What one step of both networks computes before it updates them."""
  generator: Any  # The generator loss's gradient with respect to the generator's parameters.
  discriminator: Any  # The discriminator loss's gradient with respect to the discriminator's parameters.
  generator_batch_stats: Any  # The generator's BatchNorm statistics after this batch.
  generator_loss: jax.Array
  discriminator_loss: jax.Array
  discriminator_accuracy: jax.Array


def step_gradients(state: GANState, batch: Batch, rng: jax.Array, *, noise_dim: int,
                   gan_loss: losses.GANLoss = losses.non_saturating, real_label: float = 1.0,
                   r1_weight: float = 0.0, mode_seeking_weight: float = 0.0,
                   generated_batch_size: int = 0) -> GANGradients:
  """Both networks' losses (`gan_loss`) and gradients from one forward pass, as the original's two tapes.

  Stop-gradients route each loss to its own network: the generator's loss sees the discriminator's
  parameters as constants, the discriminator's loss sees the generated images as constants. `r1_weight`
  > 0 adds `r1_weight / 2` times the R1 penalty to the discriminator's loss, `mode_seeking_weight` > 0 that many
  times the mode-seeking term to the generator's. The generator draws
  `generated_batch_size` images (0: as many as the batch has real ones).
  """
  noise_rng, real_dropout_rng, fake_dropout_rng = jax.random.split(rng, 3)
  real = to_signed(batch['image'])
  noise = jax.random.normal(noise_rng, (generated_batch_size or real.shape[0], noise_dim))
  gen, disc = state.generator, state.discriminator

  def loss_values(g_params, d_params):
    fake, updates = gen.apply_fn({'params': g_params, 'batch_stats': gen.batch_stats}, noise, train=True,
                                 mutable=['batch_stats'])
    discriminate = lambda params, x, rng: disc.apply_fn({'params': params}, x, train=True, rngs={'dropout': rng})
    real_logits = discriminate(d_params, real, real_dropout_rng)
    fake_logits = discriminate(d_params, jax.lax.stop_gradient(fake), fake_dropout_rng)
    fooled_logits = discriminate(jax.lax.stop_gradient(d_params), fake, fake_dropout_rng)  # == fake_logits
    discriminator_loss, generator_loss = gan_loss(real_logits, fake_logits, fooled_logits, real_label=real_label)
    if r1_weight > 0:
      discriminator_loss += r1_weight / 2 * losses.r1_penalty(
          lambda images: discriminate(d_params, images, real_dropout_rng), real)
    if mode_seeking_weight > 0:
      generator_loss += mode_seeking_weight * losses.mode_seeking(noise, fake)
    accuracy = (jnp.mean(real_logits > 0) + jnp.mean(fake_logits < 0)) / 2
    return generator_loss + discriminator_loss, (generator_loss, discriminator_loss, accuracy, updates)

  (g_grads, d_grads), (g_loss, d_loss, accuracy, updates) = jax.grad(
      loss_values, argnums=(0, 1), has_aux=True)(gen.params, disc.params)
  return GANGradients(g_grads, d_grads, updates['batch_stats'], g_loss, d_loss, accuracy)


def train_step(state: GANState, batch: Batch, rng: jax.Array, *, noise_dim: int, ema_decay: float = 0.0,
               **loss_options) -> tuple[GANState, GANTrainMetrics]:
  """One update of both networks (`step_gradients`, given `loss_options`), and of the generator's average."""
  grads = step_gradients(state, batch, rng, noise_dim=noise_dim, **loss_options)
  generator = state.generator.apply_gradients(grads=grads.generator, batch_stats=grads.generator_batch_stats)
  new_state = GANState(
      step=state.step + 1,
      generator=generator,
      discriminator=state.discriminator.apply_gradients(grads=grads.discriminator),
      generator_ema=optax.incremental_update(generator.params, state.generator_ema, step_size=1.0 - ema_decay))
  return new_state, GANTrainMetrics.single_from_model_output(
      generator_loss=grads.generator_loss, discriminator_loss=grads.discriminator_loss,
      discriminator_accuracy=grads.discriminator_accuracy)


def generate(generator: TrainState, noise: jax.Array) -> jax.Array:
  """Images in [-1, 1] from noise, BatchNorm on its running statistics (which sampling leaves unchanged)."""
  return generator.apply_fn(generator.variables(), noise, train=False)


def samplers(state: GANState, *, generator: nn.Module, statistics_noise: jax.Array,
             ema_decay: float) -> dict[str, TrainState]:
  """The generators evaluation samples from, each with BatchNorm statistics recomputed for its weights.

  `SAMPLER` has the averaged weights; with `ema_decay > 0` the raw generator is scored beside it as `RAW`.
  """
  def with_statistics(params: Any) -> TrainState:
    return state.generator.replace(params=params, batch_stats=sampling_statistics(
        generator, params, state.generator.batch_stats, statistics_noise))
  parts = {SAMPLER: with_statistics(state.generator_ema)}
  if ema_decay > 0:
    parts[RAW] = with_statistics(state.generator.params)
  return parts


def eval_step(samplers: dict[str, TrainState], batch: Batch, *, classifier_apply: Callable,
              classifier_variables: dict) -> NamedMetrics:
  """The classifier's view of the real images and of each sampler's images generated from `batch['noise']`."""
  fakes = {name: to_unit(generate(sampler, batch['noise'])) for name, sampler in samplers.items()}
  return NamedMetrics(generative_metrics.score_batch(
      classifier_apply, classifier_variables, augment.to_float(batch['image']), fakes, batch['mask']))


def statistics_noise(config: ml_collections.ConfigDict) -> np.ndarray:
  """The noise batch whose BatchNorm statistics sampling uses."""
  return fixed_noise(config.seed, _STATISTICS_NOISE_STREAM, config.num_statistics_samples, config.noise_dim)


def fixed_noise(seed: int, stream: int, count: int, noise_dim: int) -> np.ndarray:
  """The same noise batch on every machine and at every eval of a run."""
  return np.asarray(jax.random.normal(jax.random.fold_in(jax.random.key(seed), stream), (count, noise_dim)))


def sample_grid(samplers: dict[str, TrainState], noise: np.ndarray) -> dict[str, np.ndarray]:
  """The grid of images the sampling generator draws from `noise`, for the workdir and TensorBoard."""
  return {'samples': images.grid(np.asarray(_generate_unit(samplers[SAMPLER], noise)))}


def plot_fid(history: History, epoch_steps: int) -> dict[str, np.ndarray]:
  """FID per epoch of the sampling generator (and of the raw one, when weights are averaged)."""
  fig, (ax,) = plots.figure()
  for name, label in (('eval/fid', 'sampling generator'), (f'eval/{RAW}/fid', 'raw generator')):
    points = history.get(name, [])
    if points:
      ax.plot([step / epoch_steps for step, _ in points], [v for _, v in points], 'o-', label=label)
  ax.set(xlabel='epoch', ylabel='FID (training images)', yscale='log', title='FID per epoch')
  ax.legend()
  return {'fid': plots.to_array(fig)}


@jax.jit
def _generate_unit(generator: TrainState, noise: jax.Array) -> jax.Array:
  return to_unit(generate(generator, noise))


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  del workdir  # Nothing is learned from the data before training.
  # Loaded here, not with the module: `deeplearn.dcgan.sample` rebuilds the generator without TensorFlow's import.
  from deeplearn.data import datasets  # pylint: disable=import-outside-toplevel

  if config.gan_loss not in losses.GAN_LOSSES:
    raise UserError(f'config.gan_loss={config.gan_loss!r} is unknown; use one of {sorted(losses.GAN_LOSSES)}.')
  # A bad classifier path fails before any data is read.
  classifier = (runs.load(config.fid_classifier_workdir, task='classification') if config.fid_classifier_workdir
                else None)
  batches = shuffled_batches(config, lambda split: {
      'image': datasets.load_split(config.dataset, split, **loader_kwargs(config))['image']})
  steps = num_train_steps(config, batches.steps_per_epoch)
  eval_splits, final_eval_splits = {}, {}
  eval_step_fn = None
  if classifier is not None:
    def scored_split(split: str) -> EvalSplit:
      """The first `num_fid_samples` images of `split`, each beside a fixed noise vector to generate from."""
      images = datasets.load_split(config.dataset, split, **loader_kwargs(config))['image'][:config.num_fid_samples]
      noise = fixed_noise(config.seed, _EVAL_NOISE_STREAM, len(images), config.noise_dim)
      return eval_split({'image': images, 'noise': noise}, config)
    eval_splits['eval'] = scored_split(config.eval_split)
    final_eval_splits = test_splits(config, scored_split)
    eval_step_fn = functools.partial(eval_step, classifier_apply=classifier.model.apply,
                                     classifier_variables=classifier.variables)
  grid_noise = fixed_noise(config.seed, _GRID_NOISE_STREAM, config.num_grid_samples, config.noise_dim)
  generator = create_generator(config)
  return Task(
      init_state=functools.partial(
          init_state, generator=generator, discriminator=create_discriminator(config),
          generator_tx=optimizers.create_optimizer(config.generator_optimizer, steps),
          discriminator_tx=optimizers.create_optimizer(config.discriminator_optimizer, steps),
          noise_dim=config.noise_dim, image_shape=batches(0)['image'].shape[1:]),
      train_step=functools.partial(train_step, noise_dim=config.noise_dim, ema_decay=config.ema_decay,
                                   gan_loss=losses.GAN_LOSSES[config.gan_loss], real_label=config.real_label,
                                   r1_weight=config.r1_weight, mode_seeking_weight=config.mode_seeking_weight,
                                   generated_batch_size=config.generated_batch_size),
      eval_step=eval_step_fn,
      train_batches=batches,
      eval_splits=eval_splits,
      final_eval_splits=final_eval_splits,
      num_train_steps=steps,
      eval_images=functools.partial(sample_grid, noise=grid_noise),
      plot_history=(functools.partial(plot_fid, epoch_steps=batches.steps_per_epoch) if classifier is not None
                    else None),
      prepare_eval=functools.partial(
          samplers, generator=generator, ema_decay=config.ema_decay,
          statistics_noise=statistics_noise(config)),
  )
