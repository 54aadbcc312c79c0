"""End-to-end runs of the generic loop on the tiny fixtures: configs, resume, corrupt checkpoints, NaN."""

import glob
import json
import os
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from deeplearn.classification import task as classification_task
from deeplearn.classification.task import ClassificationMetrics
from deeplearn.core import checkpoints, registry, runs, train, workdir
from deeplearn.core.errors import NonFiniteLossError, UserError
from deeplearn.data import augment
from deeplearn.regression.task import RegressionMetrics
from tests.conftest import killed_after_checkpoint, load_config, tiny_config


def _classifies_fixture_data(path: str) -> bool:
  """A classification config on MNIST-layout data; the others are tested with their experiments."""
  config = load_config(path)
  return config.task == 'classification' and config.dataset in ('mnist', 'fashion_mnist')


CLASSIFICATION_CONFIGS = [
    path for path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), '..', 'configs', '*.py')))
    if _classifies_fixture_data(path)]


def final_params(workdir, config):
  manager = checkpoints.create_manager(workdir, 3)
  restored = manager.restore(manager.latest_step())
  return restored['state']['params']


def assert_trees_close(a, b, **kwargs):
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, **kwargs), a, b)


def predicted_labels(run: runs.Run, images: np.ndarray) -> np.ndarray:
  """Each image's most probable class, averaged with its mirror image's where the config says so."""
  x = augment.to_float(images)
  probabilities = jax.nn.softmax(run.model.apply(run.variables, x))
  if run.config.test_time_flip:
    probabilities = (probabilities + jax.nn.softmax(run.model.apply(run.variables, x[:, :, ::-1]))) / 2
  return np.asarray(probabilities.argmax(-1))


@pytest.mark.parametrize('path', CLASSIFICATION_CONFIGS, ids=os.path.basename)
def test_config_runs_end_to_end(path, data_dir, tmp_path):
  config = tiny_config(load_config(path), data_dir)
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert set(summary) == {'eval/loss', 'eval/accuracy', 'test/loss', 'test/accuracy'}
  # The loop's accuracy over the padded, masked batches of each split is the final model's over the whole split.
  run = runs.load(str(tmp_path))
  assert run.step == 6
  for prefix, split_name in (('eval', config.eval_split), ('test', config.test_split)):
    split = classification_task.load_split(config, split_name)
    accuracy = np.mean(predicted_labels(run, split['image']) == split['label'])
    assert summary[f'{prefix}/accuracy'] == pytest.approx(accuracy)
  assert glob.glob(str(tmp_path / 'events.out.tfevents.*'))
  assert sorted(checkpoints.create_manager(str(tmp_path), 3).all_steps()) == [3, 6]


def test_resumed_run_ends_where_an_unbroken_run_ends(make_config, tmp_path):
  config = make_config()  # The strong CNN: BatchNorm and dropout.
  train.train_and_evaluate(config, str(tmp_path / 'unbroken'))
  with killed_after_checkpoint(stop_step=3):  # Mid-chunk: steps 0-3 cross in one transfer.
    train.train_and_evaluate(config, str(tmp_path / 'resumed'))
  assert checkpoints.create_manager(str(tmp_path / 'resumed'), 3).all_steps() == [3]
  train.train_and_evaluate(config, str(tmp_path / 'resumed'))
  assert_trees_close(final_params(str(tmp_path / 'resumed'), config),
                     final_params(str(tmp_path / 'unbroken'), config), rtol=1e-6, atol=1e-7)


def test_corrupt_latest_checkpoint_falls_back_to_the_one_before(make_config, tmp_path, caplog):
  config = make_config()
  workdir = str(tmp_path)
  train.train_and_evaluate(config, workdir)
  expected = final_params(workdir, config)
  for path in glob.glob(os.path.join(workdir, 'checkpoints', '6', '**', '*'), recursive=True):
    if os.path.isfile(path):
      with open(path, 'wb') as f:
        f.write(b'garbage')
  train.train_and_evaluate(config, workdir)  # Restores step 3, trains 3 -> 6 again.
  assert 'Checkpoint at step 6 is unreadable' in caplog.text
  assert glob.glob(os.path.join(workdir, 'checkpoints', '6.unreadable-*'))
  assert_trees_close(final_params(workdir, config), expected, rtol=1e-6, atol=1e-7)


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(make_config, tmp_path, monkeypatch):
  original = registry.get_task

  def get_task(config, workdir):
    task = original(config, workdir)

    def poisoned_step(state, batch, rng):  # From step 4 on, the parameters turn NaN.
      poison = jnp.where(state.step >= 3, jnp.nan, 0.0)
      state = state.replace(params=jax.tree.map(lambda p: p + poison, state.params))
      return task.train_step(state, batch, rng)
    return task.__class__(**{**task.__dict__, 'train_step': poisoned_step})
  monkeypatch.setattr(registry, 'get_task', get_task)

  with pytest.raises(NonFiniteLossError, match=r'loss became nan by step 4.*checkpoint \(step 3\) is kept'):
    train.train_and_evaluate(make_config(log_every_steps=1), str(tmp_path))
  manager = checkpoints.create_manager(str(tmp_path), 3)
  assert manager.all_steps() == [3]
  params = manager.restore(3)['state']['params']
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(params))


def test_merged_metrics_keep_their_own_collection_type():
  classification = ClassificationMetrics.single_from_model_output(
      loss=jnp.ones(4), logits=jnp.ones((4, 10)), labels=jnp.zeros(4, jnp.int32))
  regression = RegressionMetrics.single_from_model_output(loss=jnp.ones(4), mae=jnp.full(4, 2.0))
  for metrics, expected in ((classification, {'loss': 1.0, 'accuracy': 1.0}), (regression, {'loss': 1.0, 'mae': 2.0})):
    total = train.merge_metrics(train.merge_metrics(None, metrics), metrics)
    assert type(total) is type(metrics)
    assert {k: float(v) for k, v in total.compute().items()} == expected


def test_a_step_that_does_not_advance_the_step_counter_is_refused(make_config, tmp_path, monkeypatch):
  original = registry.get_task

  def get_task(config, workdir):
    task = original(config, workdir)
    frozen_step = lambda state, batch, rng: (lambda new, m: (new.replace(step=state.step), m))(
        *task.train_step(state, batch, rng))
    return task.__class__(**{**task.__dict__, 'train_step': frozen_step})
  monkeypatch.setattr(registry, 'get_task', get_task)
  with pytest.raises(TypeError, match='took state.step from 0 to 0; it must advance it by exactly one'):
    train.train_and_evaluate(make_config(), str(tmp_path))


def snapshot(folder) -> dict[str, tuple[float, bytes]]:
  """Every file under `folder` with its modification time and bytes."""
  return {str(path): (path.stat().st_mtime, path.read_bytes()) for path in sorted(folder.rglob('*')) if path.is_file()}


@pytest.mark.parametrize('overrides,named', [
    ({'seed': 7}, 'seed 0 -> 7'),
    ({'model.widths': (8, 16)}, 'model.widths [4, 8] -> [8, 16]'),
    ({'batch_size': 8, 'optimizer.learning_rate': 0.1}, 'batch_size 16 -> 8, optimizer.learning_rate 0.003 -> 0.1'),
])
def test_a_config_that_would_not_continue_the_run_is_refused_and_nothing_changes(
    make_config, tmp_path, overrides, named):
  train.train_and_evaluate(make_config(), str(tmp_path))
  before = snapshot(tmp_path)
  with pytest.raises(UserError, match=f'holds a run with another config: {re.escape(named)}\\. '):
    train.train_and_evaluate(make_config(**overrides), str(tmp_path))
  assert snapshot(tmp_path) == before
  assert runs.load(str(tmp_path)).step == 6  # Still a whole run for the tools.


@pytest.mark.parametrize('value,continues', [(0.0, True), (0.5, False)])
def test_a_field_added_since_the_run_continues_it_only_at_the_value_that_behaves_as_before(
    make_config, tmp_path, value, continues):
  train.train_and_evaluate(make_config(), str(tmp_path))  # A run from before the code had `ema_decay`.
  config = make_config(num_train_steps=9)
  config.ema_decay = value
  assert 'ema_decay' in workdir.ADDED_FIELDS and 'ema_decay' not in make_config()
  if continues:
    train.train_and_evaluate(config, str(tmp_path))
    assert checkpoints.saved_steps(str(tmp_path))[-1] == 9
  else:
    with pytest.raises(UserError, match='another config: ema_decay 0.0 -> 0.5\\. '):
      train.train_and_evaluate(config, str(tmp_path))


def test_a_longer_run_continues_and_each_start_is_recorded(make_config, tmp_path):
  train.train_and_evaluate(make_config(), str(tmp_path))
  train.train_and_evaluate(make_config(num_train_steps=9, eval_every_steps=9, cpu_devices=2), str(tmp_path))
  assert checkpoints.saved_steps(str(tmp_path))[-1] == 9
  starts = [json.loads(line) for line in (tmp_path / workdir.STARTS_FILE).read_text().splitlines()]
  assert [(start['step'], start['config']['num_train_steps']) for start in starts] == [(0, 6), (6, 9)]


def test_a_finished_run_trained_without_a_test_split_scores_it_once_started_with_one(make_config, tmp_path):
  untested = train.train_and_evaluate(make_config(test_split=''), str(tmp_path))
  assert set(untested) == {'eval/loss', 'eval/accuracy'}
  checkpoints_before = snapshot(tmp_path / 'checkpoints')
  tested = train.train_and_evaluate(make_config(), str(tmp_path))
  assert set(tested) == {'eval/loss', 'eval/accuracy', 'test/loss', 'test/accuracy'}
  assert tested['eval/accuracy'] == untested['eval/accuracy']  # The same weights, not trained further.
  assert snapshot(tmp_path / 'checkpoints') == checkpoints_before


def test_a_checkpoint_of_another_state_is_an_error_and_is_not_set_aside(make_config, tmp_path):
  train.train_and_evaluate(make_config(), str(tmp_path))
  manager = checkpoints.create_manager(str(tmp_path), 3)
  other = {'state': {'params': jnp.zeros((3, 3))}, 'rng': jnp.zeros(2, jnp.uint32)}
  with pytest.raises(UserError, match='The checkpoint at step 6 .* holds another state than this config makes'):
    checkpoints.restore_latest(manager, other)
  assert checkpoints.saved_steps(str(tmp_path)) == [3, 6]
  assert not glob.glob(str(tmp_path / 'checkpoints' / '*unreadable*'))
