"""Flags that several entry points share: absl lets a process define each flag name only once."""

from absl import flags
from ml_collections import config_flags

WORKDIR = flags.DEFINE_string('workdir', None, 'Folder of a training run: its config.json, checkpoints and metrics.')
CONFIG = config_flags.DEFINE_config_file('config', None, 'Config file; override fields with --config.FIELD=VALUE.')
