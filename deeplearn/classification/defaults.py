"""The image-classification fields, set to the strong CNN's recipe; `configs/` files start from these."""

from typing import Any

import ml_collections

from deeplearn.core.config import base_config, optimizer_config


def classification_config() -> ml_collections.ConfigDict:
  """`base_config()` plus the image-classification fields, set to the strong CNN's recipe."""
  config = base_config()
  config.task = 'classification'
  config.dataset = 'mnist'
  # Recipes are chosen on the validation split held out from the training data (evaluated as eval/*); the
  # test split is scored once, at the end of training (test/*). Empty: no test.
  config.train_split = 'train[:90%]'
  config.eval_split = 'train[90%:]'
  config.test_split = 'test'
  config.label_feature = 'label'
  config.image_size = 0  # > 0 resizes the images to this square size.
  config.num_classes = 10

  config.model_name = 'strong_cnn'
  config.model = ml_collections.ConfigDict(dict(widths=(16, 32, 64), head_features=0, dropout_rate=0.3))
  config.augment_max_shift = 2
  config.augment_flip = False
  config.label_smoothing = 0.0
  config.test_time_flip = False  # Evaluate on the mean prediction of each image and its mirror image.

  config.optimizer = optimizer_config('adamw', 3e-3, 'cosine', 200, b1=0.9, weight_decay=1e-4)
  config.transfer = transfer_config()
  return config


def original_cnn(dropout_rate: float = 0.0, **fields: Any) -> ml_collections.ConfigDict:
  """`config.model` of the course notebooks' CNN (`model_name='original_cnn'`)."""
  return ml_collections.ConfigDict(dict(dropout_rate=dropout_rate, kernel_size=3, stride=2,
                                        kernel_init='lecun_normal', relu_output=False) | fields)


def transfer_config() -> ml_collections.ConfigDict:
  """Where a run's backbone comes from and how it is fine-tuned; see `deeplearn/classification/transfer.py`."""
  transfer = ml_collections.ConfigDict()
  transfer.source = ''  # '' trains from scratch; else a run's workdir, or 'keras_imagenet' (mobilenet_v2).
  transfer.backbone = r'^(?!Dense_0/|predictions/)'  # Parameter paths taken from the source and frozen at first.
  transfer.head_steps = 0  # Steps that train only the head; then everything trains.
  transfer.finetune_learning_rate = 1e-4
  return transfer
