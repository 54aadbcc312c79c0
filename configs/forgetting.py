"""Catastrophic forgetting: one 20-way original CNN, 20 epochs on MNIST (labels 0-9), then 20 on
Fashion-MNIST (labels 10-19), both test sets scored after every epoch; `images/forgetting_STEP.png`.

Offline, prepare both datasets first (`launch/prepare_data.sh ../shared/data DATA_DIR`).
"""

from deeplearn.core import config as defaults

STEPS_PER_EPOCH = 60_000 // 128


def get_config():
  config = defaults.beside(__file__, 'mnist_original')
  config.task = 'continual'
  # The experiment is the test sets' curves: both scored after every epoch, on the whole training sets.
  config.train_split, config.eval_split, config.test_split = 'train', 'test', ''
  config.num_classes = 20
  config.stage_datasets = ('mnist', 'fashion_mnist')  # In training order; one entry per stage in each.
  config.stage_epochs = (20, 20)
  config.stage_label_offsets = (0, 10)
  config.batch_size = 128
  config.log_every_steps = STEPS_PER_EPOCH
  config.eval_every_steps = STEPS_PER_EPOCH
  config.checkpoint_every_steps = 5 * STEPS_PER_EPOCH
  return config
