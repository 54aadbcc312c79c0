"""Dropout against overfitting: the original CNN for 20 epochs without and with dropout 0.25, side by side.

Both variants train on the same batches of 90% of the MNIST training set and are validated every
epoch on the held-out 10%; `images/comparison_STEP.png` plots both losses of both.
"""

from deeplearn.core import config as defaults

STEPS_PER_EPOCH = 54_000 // 128


def get_config():
  config = defaults.beside(__file__, 'mnist_original')
  config.task = 'comparison'
  config.base_task = 'classification'
  config.plot_metrics = ('loss',)
  config.variants = {'no_dropout': {'model': {'dropout_rate': 0.0}}, 'dropout_025': {'model': {'dropout_rate': 0.25}}}
  config.train_split = 'train[:90%]'
  config.eval_split = 'train[90%:]'
  config.batch_size = 128
  config.num_epochs = 20
  config.log_every_steps = STEPS_PER_EPOCH
  config.eval_every_steps = STEPS_PER_EPOCH
  config.checkpoint_every_steps = 5 * STEPS_PER_EPOCH
  return config
