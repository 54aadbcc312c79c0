"""What a run keeps in its workdir besides checkpoints: the config it was trained with, and each start's."""

import datetime
import json
from typing import Any

import jax
import ml_collections

from deeplearn.core import storage
from deeplearn.core.config import flatten
from deeplearn.core.errors import UserError

CONFIG_FILE = 'config.json'
STARTS_FILE = 'starts.jsonl'  # One line per start of the run: when, and the config it was started with.
# Fields a run may change between starts: how long it trains, how often it reports, where data lives, how a
# step computes the same values (`recompute_steps`, `cpu_devices`, `cpu_convolutions`), and the split scored once
# at the end (a finished run started again with `test_split` set scores it, and trains no further). Everything
# else shapes the model, its state or its data, and a changed value would not continue the run.
CHANGEABLE_FIELDS = {'num_epochs', 'num_train_steps', 'log_every_steps', 'eval_every_steps',
                     'checkpoint_every_steps', 'max_checkpoints_to_keep', 'batches_per_transfer', 'eval_batch_size',
                     'data_dir', 'manual_dir', 'fid_classifier_workdir', 'num_fid_samples', 'test_split',
                     'recompute_steps', 'cpu_devices', 'cpu_convolutions'}
# Fields added to the configs after runs were made, each with the value that does what the code did before
# it existed: a run whose saved config lacks one continues with that value (and is refused any other).
ADDED_FIELDS = {'ema_decay': 0.0, 'swa_start': 0.0, 'gan_loss': 'non_saturating', 'real_label': 1.0, 'r1_weight': 0.0,
                'token_dropout_rate': 0.0, 'generated_batch_size': 0, 'mode_seeking_weight': 0.0}

_MOST_NAMED = 5  # Differing fields named in the error.


def check_folder(workdir: str) -> None:
  folder = storage.path(workdir)
  if folder.exists() and not folder.is_dir():
    raise UserError(f'--workdir={workdir} is a file; name a folder: a new one, or that of a run to continue.')


def _as_json(config: ml_collections.ConfigDict) -> dict[str, Any]:
  return json.loads(config.to_json_best_effort())


def check_continues(config: ml_collections.ConfigDict, workdir: str) -> None:
  """A `UserError`, before anything is touched, if `workdir` holds a run that `config` would not continue.

  `config` may differ from the run's own only in `CHANGEABLE_FIELDS`.
  """
  check_folder(workdir)
  path = storage.path(workdir) / CONFIG_FILE
  if not path.exists():
    return
  saved = flatten(ml_collections.ConfigDict(json.loads(path.read_text())))
  now = flatten(ml_collections.ConfigDict(_as_json(config)))
  saved |= {name: ADDED_FIELDS[leaf] for name in now.keys() - saved.keys()
            if (leaf := name.rsplit('.', 1)[-1]) in ADDED_FIELDS}
  differing = sorted(name for name in saved.keys() | now.keys()
                     if saved.get(name) != now.get(name) and name.rsplit('.', 1)[-1] not in CHANGEABLE_FIELDS)
  if 'task' in differing:
    raise UserError(f'{workdir} holds a {saved["task"]!r} run and this config trains {now["task"]!r}; train it in a '
                    'new --workdir.')
  if differing:
    changes = ', '.join(f'{name} {saved.get(name, "(none)")!r} -> {now.get(name, "(none)")!r}'
                        for name in differing[:_MOST_NAMED])
    if len(differing) > _MOST_NAMED:
      changes += f' and {len(differing) - _MOST_NAMED} more'
    raise UserError(f'{workdir} holds a run with another config: {changes}. These shape the model, its state or its '
                    'data, so the run cannot continue with them; train in a new --workdir, or drop those overrides '
                    f'to continue this run (its config: {path}).')


def record_start(config: ml_collections.ConfigDict, workdir: str, step: int) -> None:
  """Writes the config (process 0), so tools can rebuild the model from the workdir, and logs this start."""
  if jax.process_index() == 0:
    folder = storage.path(workdir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(config.to_json_best_effort(indent=2))
    start = {'time': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'), 'step': step,
             'config': _as_json(config)}
    starts = folder / STARTS_FILE
    earlier = starts.read_text() if starts.exists() else ''  # Rewritten whole: a bucket's objects do not append.
    starts.write_text(earlier + json.dumps(start) + '\n')


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a finished or running training run in `workdir` was started with."""
  path = storage.path(workdir) / CONFIG_FILE
  if not path.is_file():
    raise UserError(f'{path} does not exist: {workdir!r} is not the workdir of a training run. '
                    'Pass the --workdir given to `python -m deeplearn.main`.')
  return ml_collections.ConfigDict(json.loads(path.read_text()))
