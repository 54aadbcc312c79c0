"""The metrics of every checkpoint an age run kept, on its validation split unless told otherwise.

  python -m deeplearn.age.score_checkpoints --workdir=runs/age_original [--split=test]
"""

import sys

import numpy as np
from absl import app, flags

from deeplearn.age import task as age
from deeplearn.core import checkpoints, runs
from deeplearn.core.errors import UserError
from deeplearn.core.flags import WORKDIR

_SPLIT = flags.DEFINE_string('split', None, "The split to score; the run's validation split (eval_split) by default.")


def checkpoint_metrics(run_dir: str, split: str | None = None) -> dict[int, dict[str, float]]:
  """Per kept step: the MAE overall and per age band, and `bias`, the mean signed error (< 0: too young)."""
  config = runs.load_config(run_dir, task='age')
  data = age.load_split(config, split or config.eval_split)
  predict = age.age_predictor(config, age.create_model(config))
  results = {}
  for step in checkpoints.saved_steps(run_dir):
    variables = runs.load(run_dir, step).variables
    ages = np.concatenate([predict(variables, data['image'][i:i + config.eval_batch_size])
                           for i in range(0, len(data['age']), config.eval_batch_size)])
    errors = ages - data['age']
    metrics = age.AgeMetrics.single_from_model_output(abs_error=np.abs(errors), age=data['age']).compute()
    results[step] = {**{name: float(value) for name, value in metrics.items()}, 'bias': float(errors.mean())}
  return results


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:
    results = checkpoint_metrics(WORKDIR.value, _SPLIT.value)
  except (UserError, OSError) as e:
    sys.exit(f'error: {e}')
  names = list(next(iter(results.values())))
  print('| step | ' + ' | '.join(names) + ' |')
  print('|---' * (len(names) + 1) + '|')
  for step, values in results.items():
    print(f'| {step} | ' + ' | '.join(f'{values[name]:.2f}' for name in names) + ' |')


if __name__ == '__main__':
  flags.mark_flags_as_required(['workdir'])
  app.run(main)
