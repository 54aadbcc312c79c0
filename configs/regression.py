"""The warm-up: a 10-10 tanh MLP fits y = sin(1 + x^2) + noise on [0, 3]; no download, seconds on a CPU."""

import ml_collections

from deeplearn.core import config as defaults


def get_config():
  config = defaults.base_config()
  config.task = 'regression'
  config.num_train, config.num_validation, config.num_test = 600, 100, 100
  config.x_min, config.x_max = 0.0, 3.0
  config.noise_std = 0.1
  config.model_name = 'mlp'
  config.model = ml_collections.ConfigDict(dict(hidden=(10, 10)))

  config.batch_size = 32
  config.eval_batch_size = 100
  config.num_epochs = 300
  config.log_every_steps = 500
  config.eval_every_steps = 1000
  config.checkpoint_every_steps = 2000

  config.optimizer = defaults.optimizer_config('adam', 1e-2, 'cosine', 100, b1=0.9)
  return config
