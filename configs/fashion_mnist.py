"""Fashion-MNIST: the strong CNN with a dense head, 1-pixel shifts, mirroring, label smoothing, mirrored test views."""

from deeplearn.classification import defaults as classification_defaults


def get_config():
  config = classification_defaults.classification_config()
  config.dataset = 'fashion_mnist'
  config.model.head_features = 512
  config.augment_max_shift = 1
  config.augment_flip = True
  config.label_smoothing = 0.1
  config.test_time_flip = True
  config.num_epochs = 10
  return config
