"""The age notebook's model and recipe: 200x200 portraits, two strided convolutions, RMSprop 1e-3, 20 epochs.

Keras' defaults throughout (glorot_uniform weights, RMSprop's epsilon of 1e-7) and its output ReLU.
"""

from deeplearn import defaults


def get_config():
  config = defaults.age_config()
  config.image_size = 200
  config.model = 'original_cnn'
  config.kernel_init = 'glorot_uniform'
  config.relu_output = True
  config.dropout_rate = 0.2
  config.head = 'regression'
  config.age_shift = 0.0
  config.age_scale = 1.0
  config.augment_max_shift = 0
  config.augment_flip = False
  config.test_time_flip = False
  config.optimizer = 'keras_rmsprop'
  config.learning_rate = 1e-3
  config.lr_schedule = 'constant'
  config.num_epochs = 20
  return config
