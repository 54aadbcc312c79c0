"""The age notebook's model and recipe: 200x200 portraits, two strided convolutions, RMSprop 1e-3, 20 epochs.

Keras' defaults throughout (glorot_uniform weights, RMSprop's epsilon of 1e-7) and its output ReLU.
"""

import ml_collections

from deeplearn.age import defaults as age_defaults
from deeplearn.classification import defaults as classification_defaults
from deeplearn.core import config as defaults


def get_config():
  config = age_defaults.age_config()
  config.image_size = 200
  config.model_name = 'original_cnn'
  config.model = classification_defaults.original_cnn(0.2, kernel_size=5, stride=4, kernel_init='glorot_uniform', relu_output=True)
  config.head_name = 'regression'
  config.head = ml_collections.ConfigDict(dict(shift=0.0, scale=1.0))
  config.augment_max_shift = 0
  config.augment_flip = False
  config.test_time_flip = False
  config.optimizer = defaults.optimizer_config('rmsprop', 1e-3, eps=1e-7)  # Keras' epsilon (optax's: 1e-8).
  config.num_epochs = 20
  config.cpu_devices = 2  # On a CPU, one device per core of two: 1.5-2x the steps/s of one (docs/results.md).
  return config
