"""The config schema: the loop's fields every config has, and the nested groups the projects reuse.

A model is `config.model_name` (a name in `deeplearn.models.MODELS`) plus `config.model`, its own
fields, passed to the module as keyword arguments; an optimiser is one `optimizer_config()` group.
Each file in `configs/` starts from a project's `*_config()` here and changes what its recipe needs.
"""

import importlib.util
import pathlib
from typing import Any

import ml_collections


def base_config() -> ml_collections.ConfigDict:
  """The fields the generic training loop reads, with neutral defaults."""
  config = ml_collections.ConfigDict()
  config.task = ''
  config.seed = 0
  config.batch_size = 128  # Global: split across all devices.
  config.eval_batch_size = 1000  # Global; the last batch is padded and masked.
  config.num_epochs = 1
  config.num_train_steps = -1  # When > 0, overrides num_epochs.
  config.log_every_steps = 100
  config.eval_every_steps = 1000
  config.checkpoint_every_steps = 1000
  config.max_checkpoints_to_keep = 3
  config.batches_per_transfer = 16  # Training batches sent to the devices in one transfer; 1 if shapes vary.
  config.data_dir = ''  # TFDS data dir; empty means TFDS's default.
  config.manual_dir = ''  # Raw files in the publisher's layout, for offline builds.
  # The training split is read as this many equal shards, dealt out over the processes; 0: one per process.
  # Fix it to keep a run's batches the same on any number of processes.
  config.data_shards = 0
  config.compute_dtype = 'float32'  # or 'bfloat16' (TPUs), where the model supports it; parameters stay float32.
  return config


def optimizer_config(name: str, learning_rate: float, schedule: str = 'constant', warmup_steps: int = 0,
                     **kwargs: Any) -> ml_collections.ConfigDict:
  """An optimiser: the optax function `name` on a `schedule` of `learning_rate`, called with `kwargs`.

  `schedule` is 'constant', or 'cosine': `warmup_steps` of linear warm-up, then cosine decay to zero.
  `kwargs` are the optax function's own arguments (`b1`, `weight_decay`, `eps`, `momentum`, ...).
  """
  return ml_collections.ConfigDict(dict(name=name, learning_rate=learning_rate, schedule=schedule,
                                        warmup_steps=warmup_steps, kwargs=kwargs))


def classification_config() -> ml_collections.ConfigDict:
  """`base_config()` plus the image-classification fields, set to the strong CNN's recipe."""
  config = base_config()
  config.task = 'classification'
  config.dataset = 'mnist'
  config.train_split = 'train'
  config.eval_split = 'test'
  config.test_split = ''  # When set, evaluated once, at the end of training.
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


def imdb_config() -> ml_collections.ConfigDict:
  """`base_config()` plus the IMDB fields, set to the original one-layer BiLSTM."""
  config = base_config()
  config.task = 'imdb'
  config.dataset = 'imdb_reviews'
  config.train_split = 'train'
  config.eval_split = 'test'
  config.vocab_size = 8000  # Subword pieces learned from the training reviews, padding included.
  config.max_length = 512  # Tokens kept from the start of each review.
  config.bucket_boundaries = (64, 128, 192, 256, 384)  # Reviews batch with others of similar length.
  config.pad_multiple = 32  # Batches pad to their longest review rounded up to this: few compiled shapes.
  config.batches_per_transfer = 1  # Batch shapes vary.
  config.batch_size = 64
  config.eval_batch_size = 250

  config.model_name = 'text_classifier'
  config.model = ml_collections.ConfigDict(dict(
      embedding_features=64,
      lstm_features=(64,),  # One BiLSTM layer per entry; the stacked original: (64, 32).
      dense_features=64,
      dropout_rate=0.0,
      embedding_dropout_rate=0.0,  # Whole embedding features of a review dropped in training.
      pooling='final',  # The final states, as the original; 'final_and_max' adds a max over the outputs.
  ))

  config.optimizer = optimizer_config('adam', 1e-3, 'cosine', 100, b1=0.9)
  config.num_epochs = 3
  config.eval_every_steps = 390
  config.checkpoint_every_steps = 390
  return config


def from_file(path: str | pathlib.Path) -> ml_collections.ConfigDict:
  """The config of a config file (its `get_config()`), as `--config=path` gives it, from any working directory."""
  path = pathlib.Path(path)
  spec = importlib.util.spec_from_file_location(f'configs.{path.stem}', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def beside(config_file: str, name: str) -> ml_collections.ConfigDict:
  """The config of `name`.py in the folder of `config_file`: for configs that build on another one."""
  return from_file(pathlib.Path(config_file).with_name(f'{name}.py'))
