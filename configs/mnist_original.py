"""The course notebook's CNN on MNIST, trained as it was: RMSprop 1e-3, no augmentation."""

from deeplearn.classification import defaults as classification_defaults
from deeplearn.core import config as defaults


def get_config():
  config = classification_defaults.classification_config()
  config.dataset = 'mnist'
  config.model_name = 'original_cnn'
  config.model = classification_defaults.original_cnn()
  config.augment_max_shift = 0
  config.optimizer = defaults.optimizer_config('rmsprop', 1e-3)
  config.num_epochs = 5
  return config
