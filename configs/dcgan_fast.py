"""The original DCGAN architecture with the DCGAN paper's optimiser recipe, for short CPU budgets.

Batch 64 (four times the updates per epoch of batch 256, at the same cost per image) and Adam
2e-4 with beta1 = 0.5 for both networks (Radford et al., 2016); everything else as `dcgan.py`.
"""

from deeplearn.core import config as defaults


def get_config():
  config = defaults.beside(__file__, 'dcgan')
  config.batch_size = 64
  config.generator_optimizer = defaults.optimizer_config('adam', 2e-4, b1=0.5)
  config.discriminator_optimizer = defaults.optimizer_config('adam', 2e-4, b1=0.5)
  config.log_every_steps = 200
  config.eval_every_steps = 937  # An epoch: 60,000 // 64 steps.
  config.checkpoint_every_steps = 937
  return config
