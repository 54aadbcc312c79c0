"""The original's transfer learning: MobileNetV2 with ImageNet weights fine-tuned on Caltech101 (online).

TFDS downloads Caltech101 and Keras the ImageNet weights, converted into the Flax MobileNetV2. The new
102-way head trains alone for `head_steps` with the backbone frozen, then everything at a low rate.

  python -m deeplearn.main --config=configs/caltech101_transfer.py --workdir=runs/caltech101
"""

import ml_collections

from deeplearn.classification import defaults as classification_defaults
from deeplearn.core import config as defaults

STEPS_PER_EPOCH = 3060 // 32


def get_config():
  config = classification_defaults.classification_config()
  config.dataset = 'caltech101'
  config.num_classes = 102
  config.train_split = 'train[:90%]'
  config.eval_split = 'train[90%:]'
  config.test_split = 'test'
  config.image_size = 224
  config.model_name = 'mobilenet_v2'
  config.model = ml_collections.ConfigDict(dict(alpha=1.0, dropout_rate=0.2))
  config.augment_max_shift = 16
  config.augment_flip = True

  config.batch_size = 32
  config.eval_batch_size = 256
  config.num_epochs = 20
  config.optimizer = defaults.optimizer_config('adam', 1e-3)
  config.transfer.source = 'keras_imagenet'
  config.transfer.backbone = r'^(?!predictions/)'
  config.transfer.head_steps = 10 * STEPS_PER_EPOCH
  config.transfer.finetune_learning_rate = 1e-5
  config.log_every_steps = STEPS_PER_EPOCH
  config.eval_every_steps = STEPS_PER_EPOCH
  config.checkpoint_every_steps = 5 * STEPS_PER_EPOCH
  return config
