"""Transfer learning: the backbone of a trained age model fine-tuned to tell gender from 1,000 portraits.

Two variants train side by side on the same 1,000 UTKFace training images and batches: `finetuned`
starts from the backbone of the age run in `transfer.source` (train it first with `configs/age.py`),
trains the new 2-way head alone for `head_steps`, then everything at a low learning rate;
`scratch` is the same network from random weights. Both are validated every epoch and scored on
the whole test split at the end; `images/comparison_STEP.png` plots their losses and accuracies.

  python -m deeplearn.main --config=configs/gender_transfer.py --workdir=runs/gender \
      --config.transfer.source=runs/age
"""

from deeplearn.age import defaults as age_defaults
from deeplearn.classification import defaults as classification_defaults

NUM_TRAIN = 1000
STEPS_PER_EPOCH = NUM_TRAIN // 50


def get_config():
  age = age_defaults.age_config()
  config = classification_defaults.classification_config()
  config.task = 'comparison'
  config.base_task = 'classification'
  config.plot_metrics = ('loss', 'accuracy')
  config.variants = {'finetuned': {}, 'scratch': {'transfer': {'source': ''}}}
  config.dataset = 'utk_face'
  config.label_feature = 'gender'
  config.num_classes = 2
  config.train_split = f'train[:{NUM_TRAIN}]'
  config.eval_split = 'validation'
  config.test_split = 'test'
  config.image_size = age.image_size  # The backbone's: everything in it must match the age model.
  config.model_name = age.model_name
  config.model = age.model
  config.augment_max_shift = age.augment_max_shift
  config.augment_flip = True
  config.test_time_flip = True

  config.batch_size = 50
  config.num_epochs = 30
  config.optimizer.learning_rate = 1e-3
  config.optimizer.warmup_steps = STEPS_PER_EPOCH
  config.transfer.source = 'runs/age'
  config.transfer.backbone = r'^(?!Dense_0/)'
  config.transfer.head_steps = 5 * STEPS_PER_EPOCH
  config.transfer.finetune_learning_rate = 3e-4
  config.log_every_steps = STEPS_PER_EPOCH
  config.eval_every_steps = STEPS_PER_EPOCH
  config.checkpoint_every_steps = 10 * STEPS_PER_EPOCH
  return config
