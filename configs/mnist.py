"""MNIST with the strong CNN: >= 99.5% test accuracy on a 2-core CPU in under 30 minutes."""

from deeplearn.classification import defaults as classification_defaults


def get_config():
  config = classification_defaults.classification_config()
  config.dataset = 'mnist'
  config.num_epochs = 8
  config.cpu_devices = 2  # On a CPU, one device per core of two: 1.5x the steps/s of one (docs/results.md).
  return config
