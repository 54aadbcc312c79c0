"""What a run keeps in its workdir besides checkpoints: the config it was trained with."""

import json
import os

import jax
import ml_collections

from deeplearn.core.errors import UserError

CONFIG_FILE = 'config.json'


def save_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Writes the run's config (process 0 only), so tools can rebuild its model from the workdir alone."""
  if jax.process_index() == 0:
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, CONFIG_FILE), 'w') as f:
      f.write(config.to_json_best_effort(indent=2))


def load_config(workdir: str) -> ml_collections.ConfigDict:
  """The config a finished or running training run in `workdir` was started with."""
  path = os.path.join(workdir, CONFIG_FILE)
  if not os.path.isfile(path):
    raise UserError(f'{path} does not exist: {workdir!r} is not the workdir of a training run. '
                    'Pass the --workdir given to `python -m deeplearn.main`.')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))
