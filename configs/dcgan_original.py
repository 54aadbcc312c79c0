"""The TensorFlow DCGAN tutorial on MNIST, as the original trained it: batch 256, Adam 1e-4, 100 epochs.

About six minutes an epoch on a 2-core CPU. `configs/dcgan.py` is the same networks with the recipe
that draws the best digits in a short budget. Set `fid_classifier_workdir` to a finished
`configs/mnist.py` run to score the digits (FID, Inception Score, class entropy) at every eval.
"""

import ml_collections

from deeplearn.core import config as defaults


def get_config():
  config = defaults.base_config()
  config.task = 'dcgan'
  config.dataset = 'mnist'
  config.train_split = 'train'
  # FID at every evaluation is against training images (recipes are chosen on it); the test images score
  # the final figures once, at the end (test/*).
  config.eval_split = 'train'
  config.test_split = 'test'
  config.batch_size = 256  # Real images per step.
  config.generated_batch_size = 0  # Generated images per step; 0: as many as batch_size.
  config.eval_batch_size = 1000
  config.num_epochs = 100
  config.log_every_steps = 50
  config.eval_every_steps = 234  # An epoch: 60,000 // 256 steps.
  config.checkpoint_every_steps = 234
  # XLA:CPU's own convolution kernels: on 2-core CPUs with and without AVX-512 the steps of this config and of
  # `dcgan.py` ran faster with them than with YNNPACK's (docs/results.md).
  config.cpu_convolutions = 'xla'

  config.noise_dim = 100
  config.generator = ml_collections.ConfigDict(dict(
      features=(256, 128, 64), kernel_size=5, leaky_slope=0.3, batch_norm_momentum=0.99))
  config.discriminator = ml_collections.ConfigDict(dict(
      features=(64, 128), kernel_size=5, leaky_slope=0.3, dropout_rate=0.3))
  config.generator_optimizer = defaults.optimizer_config('adam', 1e-4, b1=0.9)
  config.discriminator_optimizer = defaults.optimizer_config('adam', 1e-4, b1=0.9)

  config.gan_loss = 'non_saturating'  # Or 'hinge' (deeplearn/dcgan/losses.py).
  config.real_label = 1.0  # The real images' target; < 1 is one-sided label smoothing.
  config.r1_weight = 0.0  # > 0 adds r1_weight / 2 times the R1 gradient penalty to the discriminator's loss.
  config.mode_seeking_weight = 0.0  # > 0 adds that many times the mode-seeking term to the generator's loss.
  config.ema_decay = 0.0  # > 0 samples from an exponential moving average of the generator's weights.
  # Sampling recomputes the generator's BatchNorm statistics on this many fixed noise vectors at every
  # evaluation (the running averages lag the weights early in training).
  config.num_statistics_samples = 1024

  config.num_grid_samples = 16  # The original's 4x4 grid.
  config.fid_classifier_workdir = ''  # A classification run's workdir; empty turns the scores off.
  config.num_fid_samples = 10_000  # Generated images scored against as many test images.
  return config
