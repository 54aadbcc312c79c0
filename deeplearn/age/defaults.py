"""The age-regression fields, set to the residual network's recipe; `configs/age*.py` start from these."""

import ml_collections

from deeplearn.core.config import base_config, optimizer_config


def age_config() -> ml_collections.ConfigDict:
  """`base_config()` plus the age-regression fields, set to the residual network's recipe."""
  config = base_config()
  config.task = 'age'
  config.dataset = 'utk_face'
  config.train_split = 'train'
  config.eval_split = 'validation'
  config.test_split = 'test'  # Evaluated once, at the end of training.
  config.batch_size = 64
  config.eval_batch_size = 500
  config.image_size = 64  # Portraits are resized from 200x200 to this.

  config.model_name = 'resnet'
  config.model = ml_collections.ConfigDict(dict(widths=(32, 64, 128, 256), blocks_per_stage=1, dropout_rate=0.0))
  # How outputs become ages (`deeplearn/age/task.py`): a softmax over ages 0..max_age, whose expectation is
  # the age, trained towards a Gaussian of label_sigma years; or 'regression': shift + scale * one output.
  config.head_name = 'distribution'
  config.head = ml_collections.ConfigDict(dict(max_age=116, label_sigma=2.0))
  config.augment_max_shift = 4
  config.augment_flip = True
  config.test_time_flip = True

  config.optimizer = optimizer_config('adamw', 2e-3, 'cosine', 300, b1=0.9, weight_decay=1e-4)
  config.num_epochs = 30
  config.eval_every_steps = 625
  config.checkpoint_every_steps = 625
  return config
