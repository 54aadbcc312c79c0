"""MNIST with the strong CNN: >= 99.5% test accuracy on a 2-core CPU in under 30 minutes."""

from deeplearn import defaults


def get_config():
  config = defaults.base_config()
  config.task = 'classification'
  config.dataset = 'mnist'
  config.train_split = 'train'
  config.eval_split = 'test'
  config.num_classes = 10

  config.model = 'strong_cnn'
  config.widths = (16, 32, 64)
  config.dropout_rate = 0.3
  config.augment_max_shift = 2
  config.augment_flip = False
  config.label_smoothing = 0.0

  config.optimizer = 'adamw'
  config.learning_rate = 3e-3
  config.lr_schedule = 'cosine'
  config.warmup_steps = 200
  config.weight_decay = 1e-4

  config.batch_size = 128
  config.num_epochs = 8
  config.log_every_steps = 100
  config.eval_every_steps = 1000
  config.checkpoint_every_steps = 1000
  return config
