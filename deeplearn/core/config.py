"""The config schema: the loop's fields every config has, and the nested groups the projects reuse.

A model is `config.model_name` (a name in `deeplearn.models.MODELS`) plus `config.model`, its own
fields, passed to the module as keyword arguments; an optimiser is one `optimizer_config()` group.
Each file in `configs/` starts from its project's defaults (`deeplearn/PROJECT/defaults.py`) or from
`base_config()`, and changes what its recipe needs.
"""

import importlib.util
import pathlib
from typing import Any

import ml_collections

from deeplearn.core.errors import UserError


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
  config.compute_dtype = 'float32'  # or 'bfloat16' (TPUs); parameters stay float32.
  # How convolutions compute: 'auto' (on CPUs per layer, whichever of the three measured fastest for its shape,
  # `models/layers.py`; natively on GPUs and TPUs), 'matmul', 'native' or 'subpixel'.
  config.conv = 'auto'
  # JAX devices the host CPU is split into when JAX computes on it, the batch split over them as over any
  # devices; 0: JAX's default (one). Per config, as measured on a 2-core CPU (docs/results.md); accelerators
  # ignore it.
  config.cpu_devices = 0
  # Which kernels XLA:CPU computes convolutions with: 'xla' (its own), 'ynnpack' (YNNPACK's), or 'auto' (its own
  # on x86 CPUs without AVX-512, YNNPACK's elsewhere), as measured per config (`core/xla_cpu.py`); accelerators
  # ignore it.
  config.cpu_convolutions = 'auto'
  return config


def optimizer_config(name: str, learning_rate: float, schedule: str = 'constant', warmup_steps: int = 0,
                     **kwargs: Any) -> ml_collections.ConfigDict:
  """An optimiser: the optax function `name` on a `schedule` of `learning_rate`, called with `kwargs`.

  `schedule` is 'constant', or 'cosine': `warmup_steps` of linear warm-up, then cosine decay to zero.
  `kwargs` are the optax function's own arguments (`b1`, `weight_decay`, `eps`, `momentum`, ...).
  """
  return ml_collections.ConfigDict(dict(name=name, learning_rate=learning_rate, schedule=schedule,
                                        warmup_steps=warmup_steps, kwargs=kwargs))


# Integer fields that may be zero (a switch or an amount that can be none), and those that may be anything.
_MAY_BE_ZERO = {'data_shards', 'cpu_devices', 'image_size', 'head_features', 'warmup_steps', 'augment_max_shift',
                'head_steps', 'stage_label_offsets', 'generated_batch_size'}
_ANY_INTEGER = {'seed', 'num_train_steps'}


def validate(config: ml_collections.ConfigDict) -> None:
  """Every count or size in `config` (an int, or ints in a tuple) is positive, or at least zero where zero means none.

  Raises a `UserError` naming the first that is not, before any work.
  """
  for path, value in sorted(flatten(config).items()):
    name = path.rsplit('.', 1)[-1]
    values = value if isinstance(value, (tuple, list)) else (value,)
    if name in _ANY_INTEGER or not all(isinstance(v, int) and not isinstance(v, bool) for v in values) or not values:
      continue
    lowest = 0 if name in _MAY_BE_ZERO else 1
    if min(values) < lowest:
      raise UserError(f'config.{path}={value!r}, but it must be {"at least 0" if lowest == 0 else "positive"}; '
                      f'set --config.{path} to a value >= {lowest}.')
  if config.num_train_steps <= 0 and config.num_epochs < 1:
    raise UserError(f'config.num_epochs={config.num_epochs} and num_train_steps={config.num_train_steps}: the run '
                    'would train no step; set --config.num_epochs or --config.num_train_steps to a positive number.')


def flatten(config: ml_collections.ConfigDict, prefix: str = '') -> dict[str, Any]:
  """`{'model.widths': (16, 32), ...}`: every leaf field by its dotted path."""
  flat = {}
  for key, value in config.items():
    if isinstance(value, ml_collections.ConfigDict):
      flat |= flatten(value, f'{prefix}{key}.')
    else:
      flat[f'{prefix}{key}'] = value
  return flat


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
