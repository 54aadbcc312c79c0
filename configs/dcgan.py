"""The TensorFlow DCGAN tutorial on MNIST, as the original trained it (its 100 epochs are `num_epochs`).

Set `fid_classifier_workdir` to a finished `configs/mnist.py` run to score the digits (FID,
Inception Score, class entropy) at every eval.
"""

import ml_collections

from deeplearn import defaults


def adam(learning_rate: float, b1: float = 0.9) -> ml_collections.ConfigDict:
  """One network's optimiser fields (as `deeplearn/optimizers.py` reads them): Adam, constant rate."""
  return ml_collections.ConfigDict(dict(
      optimizer='adam', learning_rate=learning_rate, b1=b1, lr_schedule='constant', warmup_steps=0,
      weight_decay=0.0))


def get_config():
  config = defaults.base_config()
  config.task = 'dcgan'
  config.dataset = 'mnist'
  config.train_split = 'train'
  config.eval_split = 'test'
  config.batch_size = 256
  config.eval_batch_size = 1000
  config.num_epochs = 100
  config.log_every_steps = 50
  config.eval_every_steps = 234  # An epoch: 60,000 // 256 steps.
  config.checkpoint_every_steps = 234

  config.noise_dim = 100
  config.generator_features = (256, 128, 64)
  config.discriminator_features = (64, 128)
  config.kernel_size = 5
  config.leaky_slope = 0.3
  config.dropout_rate = 0.3
  config.batch_norm_momentum = 0.99
  config.generator_optimizer = adam(1e-4)
  config.discriminator_optimizer = adam(1e-4)

  config.num_grid_samples = 16  # The original's 4x4 grid.
  config.fid_classifier_workdir = ''  # A classification run's workdir; empty turns the scores off.
  config.num_fid_samples = 10_000  # Generated images scored against as many test images.
  return config
