"""The course notebook's CNN on MNIST, as it was trained: RMSprop 1e-3, no augmentation."""

from configs import mnist


def get_config():
  config = mnist.get_config()
  config.model = 'original_cnn'
  config.dropout_rate = 0.0
  config.augment_max_shift = 0
  config.optimizer = 'rmsprop'
  config.learning_rate = 1e-3
  config.lr_schedule = 'constant'
  config.num_epochs = 5
  return config
