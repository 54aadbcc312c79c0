"""Fields every config has; each file in `configs/` starts from `base_config()`."""

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

  config.model = 'strong_cnn'  # or 'original_cnn', 'resnet', 'mobilenet_v2'
  config.widths = (16, 32, 64)  # strong_cnn and resnet
  config.blocks_per_stage = 1  # resnet only
  config.alpha = 1.0  # mobilenet_v2 only: the width multiplier.
  config.head_features = 0  # strong_cnn only: 0 pools globally; > 0 adds a dense layer this wide.
  config.dropout_rate = 0.3
  config.augment_max_shift = 2
  config.augment_flip = False
  config.label_smoothing = 0.0
  config.test_time_flip = False  # Evaluate on the mean prediction of each image and its mirror image.

  config.optimizer = 'adamw'
  config.learning_rate = 3e-3
  config.lr_schedule = 'cosine'
  config.warmup_steps = 200
  config.weight_decay = 1e-4
  config.b1 = 0.9  # adam and adamw: decay of the first moment.
  config.transfer = transfer_config()
  return config


def transfer_config() -> ml_collections.ConfigDict:
  """Where a run's backbone comes from and how it is fine-tuned; see `deeplearn/transfer.py`."""
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

  config.model = 'resnet'  # or 'original_cnn'
  config.widths = (32, 64, 128, 256)  # resnet only: one stage per width.
  config.blocks_per_stage = 1  # resnet only
  config.kernel_init = 'lecun_normal'  # original_cnn only: or 'glorot_uniform', Keras' default.
  config.relu_output = False  # original_cnn only: the age notebook's output layer had a ReLU.
  config.dropout_rate = 0.0
  config.head = 'distribution'  # Softmax over ages 0..max_age, or 'regression': one output (tasks/age.py).
  config.max_age = 116  # distribution only: the oldest age it can say; UTKFace's oldest is 116.
  config.label_sigma = 2.0  # distribution only: the width in years of the target around the true age.
  config.age_shift = 33.0  # regression only: predicted age = age_shift + age_scale * model output.
  config.age_scale = 20.0
  config.augment_max_shift = 4
  config.augment_flip = True
  config.test_time_flip = True

  config.optimizer = 'adamw'
  config.learning_rate = 2e-3
  config.lr_schedule = 'cosine'
  config.warmup_steps = 300
  config.weight_decay = 1e-4
  config.b1 = 0.9
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

  config.embedding_features = 64
  config.lstm_features = (64,)  # One BiLSTM layer per entry; the stacked original: (64, 32).
  config.dense_features = 64
  config.dropout_rate = 0.0
  config.embedding_dropout_rate = 0.0  # Whole embedding features of a review dropped in training.
  config.pooling = 'final'  # The final states, as the original; 'final_and_max' adds a max over the outputs.

  config.optimizer = 'adam'
  config.learning_rate = 1e-3
  config.lr_schedule = 'cosine'
  config.warmup_steps = 100
  config.weight_decay = 0.0
  config.b1 = 0.9
  config.num_epochs = 3
  config.eval_every_steps = 390
  config.checkpoint_every_steps = 390
  return config
