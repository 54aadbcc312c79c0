"""Training on datasets in turn: the staged batches, and the forgetting config end to end."""

import os

import numpy as np
from PIL import Image

from deeplearn.classification import continual
from deeplearn.core import history, input_pipeline, registry, train
from tests.conftest import load_config, tiny_config

FORGETTING_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'configs', 'forgetting.py')


def test_staged_batches_run_each_split_for_its_steps_in_turn():
  first = input_pipeline.ShuffledBatches([{'x': np.zeros(8)}], 2, seed=0)
  second = input_pipeline.ShuffledBatches([{'x': np.ones(8)}], 2, seed=0)
  staged = input_pipeline.StagedBatches([first, second], [3, 5])
  assert [float(staged(step)['x'][0]) for step in range(9)] == [0, 0, 0, 1, 1, 1, 1, 1, 1]
  np.testing.assert_array_equal(staged(4)['x'], second(1)['x'])


def test_forgetting_config_trains_on_each_dataset_in_turn_and_scores_both(data_dir, tmp_path):
  config = tiny_config(load_config(FORGETTING_CONFIG), data_dir, num_train_steps=8, log_every_steps=2,
                       eval_every_steps=2, checkpoint_every_steps=4)
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert set(summary) == {f'eval/{name}/{metric}' for name in ('mnist', 'fashion_mnist')
                          for metric in ('loss', 'accuracy')}
  scalars = history.read_scalars(str(tmp_path))
  assert [step for step, _ in scalars['eval/fashion_mnist/accuracy']] == [2, 4, 6, 8]
  # The plot the run wrote is its whole history's, stage boundary included (re-rendered here from the events).
  epoch_steps = registry.get_task(config, str(tmp_path)).train_batches.steps_per_epoch
  expected = continual.plot_accuracy_and_loss(scalars, ['mnist', 'fashion_mnist'], boundaries=[4],
                                              epoch_steps=epoch_steps)
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'images' / 'forgetting_00000008.png')),
                                expected['forgetting'])
  # MNIST comes first: until its stage ends, no Fashion-MNIST label (10-19) has been a target.
  assert scalars['eval/fashion_mnist/accuracy'][1] == (4, 0.0)
