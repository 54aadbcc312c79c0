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
  config.data_dir = ''  # TFDS data dir; empty means TFDS's default.
  config.manual_dir = ''  # Raw files in the publisher's layout, for offline builds.
  return config
