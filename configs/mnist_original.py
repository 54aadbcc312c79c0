"""The course notebook's CNN on MNIST, trained as it was: RMSprop 1e-3, no augmentation."""

from deeplearn import defaults


def get_config():
  config = defaults.classification_config()
  config.dataset = 'mnist'
  config.model = 'original_cnn'
  config.dropout_rate = 0.0
  config.augment_max_shift = 0
  config.optimizer = 'rmsprop'
  config.learning_rate = 1e-3
  config.lr_schedule = 'constant'
  config.num_epochs = 5
  return config
