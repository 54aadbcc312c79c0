"""Side-by-side variants: the dropout experiment's config end to end, and clear errors for bad variants."""

import os

import numpy as np
import pytest
from PIL import Image

from deeplearn.classification import comparison
from deeplearn.core import history, registry, train
from deeplearn.core.errors import UserError
from tests.conftest import load_config, tiny_config

DROPOUT_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'configs', 'mnist_dropout.py')


def test_dropout_config_trains_both_variants_on_held_out_validation_and_plots_their_losses(data_dir, tmp_path):
  config = tiny_config(load_config(DROPOUT_CONFIG), data_dir, log_every_steps=3)
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert set(summary) == {f'{split}/{variant}/{metric}' for split in ('eval', 'test')
                          for variant in ('no_dropout', 'dropout_025')
                          for metric in ('loss', 'accuracy')}
  assert summary['eval/no_dropout/loss'] != summary['eval/dropout_025/loss']
  scalars = history.read_scalars(str(tmp_path))
  assert [step for step, _ in scalars['train/dropout_025/loss']] == [3, 6]
  epoch_steps = registry.get_task(config, str(tmp_path)).train_batches.steps_per_epoch
  plotted = comparison.plot_curves(scalars, list(config.variants), epoch_steps, config.plot_metrics)
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'images' / 'comparison_00000006.png')),
                                plotted['comparison'])


def test_a_variant_overriding_a_missing_field_is_a_clear_error(data_dir):
  config = tiny_config(load_config(DROPOUT_CONFIG), data_dir)
  config.variants = {'typo': {'dropout_rat': 0.5}}
  with pytest.raises(UserError, match="overrides 'dropout_rat'"):
    comparison.variant_configs(config)
