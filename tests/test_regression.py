"""The regression warm-up: its data, its step, and its config end to end."""

import os

import numpy as np
from PIL import Image

from deeplearn.core import train
from deeplearn.regression import task as regression
from tests.conftest import load_config, tiny_config

REGRESSION_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'configs', 'regression.py')


def test_samples_are_the_noisy_truth_and_reproducible_from_the_seed():
  config = load_config(REGRESSION_CONFIG)
  splits = regression.make_splits(config)
  assert [len(splits[name]['x']) for name in ('train', 'validation', 'test')] == [600, 100, 100]
  x, y = splits['train']['x'], splits['train']['y']
  assert x.min() >= 0.0 and x.max() <= 3.0
  assert abs(np.std(y - regression.truth(x)) - config.noise_std) < 0.02
  np.testing.assert_array_equal(regression.make_splits(config)['test']['y'], splits['test']['y'])


def test_config_fits_the_curve_and_plots_it(tmp_path):
  config = tiny_config(load_config(REGRESSION_CONFIG), num_train_steps=600, eval_every_steps=300,
                       checkpoint_every_steps=300, batch_size=32, eval_batch_size=64)
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert set(summary) == {'eval/loss', 'eval/mae', 'test/loss', 'test/mae'}
  assert summary['test/loss'] < 0.5 * np.var(regression.truth(np.linspace(0, 3, 1000)))
  plot = Image.open(tmp_path / 'images' / 'fit_00000600.png')
  assert plot.size == (600, 400)
  assert Image.open(tmp_path / 'images' / 'fit.gif').n_frames == 2
