"""MNIST with the strong CNN: >= 99.5% test accuracy on a 2-core CPU in under 30 minutes."""

from deeplearn.classification import defaults as classification_defaults


def get_config():
  config = classification_defaults.classification_config()
  config.dataset = 'mnist'
  config.num_epochs = 8
  return config
