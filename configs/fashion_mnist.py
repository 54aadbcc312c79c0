"""Fashion-MNIST with the strong CNN, random shifts and mirroring."""

from configs import mnist


def get_config():
  config = mnist.get_config()
  config.dataset = 'fashion_mnist'
  config.augment_flip = True
  config.label_smoothing = 0.1
  config.num_epochs = 10
  return config
