"""Age regression: the `utk_face` builder on tiny fixtures, the metrics, the step, the config and the predictor."""

import io
import os
import subprocess
import sys
import tarfile

import jax
import ml_collections
import numpy as np
import optax
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from deeplearn.age import defaults as age_defaults, score_checkpoints as age_checkpoints, task as age
from deeplearn.classification import comparison, defaults as classification_defaults, task as classification
from deeplearn.core import checkpoints, history, train
from deeplearn.core.errors import UserError
from deeplearn.data import datasets, utk_face
from tests.conftest import load_config, tiny_config

AGE_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'configs', 'age.py')
GENDER_CONFIG = os.path.join(os.path.dirname(__file__), '..', 'configs', 'gender_transfer.py')
GOOD_NAMES = [f'{a}_{g}_{r}_2017011{i}1715414{i:02d}.jpg.chip.jpg'
              for i, (a, g, r) in enumerate([(1, 0, 0), (5, 1, 1), (14, 0, 2), (23, 1, 3), (30, 0, 4), (38, 1, 0),
                                             (45, 0, 1), (52, 1, 2), (66, 0, 3), (80, 1, 4), (27, 0, 0)])]
NO_RACE_NAME = '61_1_20170109150557335.jpg.chip.jpg'  # As three real names are.
BAD_NAME, CORRUPT_NAME = 'UTKFace_readme.jpg', '33_0_0_20170117000000000.jpg.chip.jpg'


def _jpeg(age_years: int, size: int = 200) -> bytes:
  """A face-sized JPEG whose brightness says the age, so the fixture is learnable."""
  pixels = np.full((size, size, 3), min(255, 3 * age_years), np.uint8)
  pixels[::7] = 0
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, format='JPEG')
  return buffer.getvalue()


def _fixture_files() -> dict[str, bytes]:
  files = {name: _jpeg(utk_face.parse_file_name(name)['age']) for name in GOOD_NAMES + [NO_RACE_NAME]}
  files[NO_RACE_NAME] = _jpeg(61, size=120)  # Not 200x200: resized by the build.
  files[BAD_NAME] = _jpeg(20)
  files[CORRUPT_NAME] = b'\xff\xd8 not a jpeg'
  return files


def write_folder(manual_dir: str) -> None:
  os.makedirs(os.path.join(manual_dir, 'UTKFace'))
  for name, data in _fixture_files().items():
    with open(os.path.join(manual_dir, 'UTKFace', name), 'wb') as f:
      f.write(data)


def write_tarball(manual_dir: str) -> None:
  os.makedirs(manual_dir)
  with tarfile.open(os.path.join(manual_dir, 'UTKFace.tar.gz'), 'w:gz') as tar:
    for name, data in _fixture_files().items():
      info = tarfile.TarInfo(f'UTKFace/{name}')
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))


@pytest.fixture(scope='module')
def tiny_splits():
  """The fixture's 12 good images split 8 / 2 / 2."""
  with pytest.MonkeyPatch.context() as patch:
    patch.setattr(utk_face.UtkFace, 'NUM_TRAIN', 8)
    patch.setattr(utk_face.UtkFace, 'NUM_VALIDATION', 2)
    yield


@pytest.fixture(scope='module')
def utk_data_dir(tmp_path_factory, tiny_splits):
  manual_dir = str(tmp_path_factory.mktemp('raw') / 'utk')
  write_tarball(manual_dir)
  data_dir = str(tmp_path_factory.mktemp('tfds'))
  datasets.prepared_builder('utk_face', data_dir=data_dir, manual_dir=manual_dir)
  return data_dir


def test_file_names_parse_the_utkface_way():
  assert utk_face.parse_file_name('26_0_1_20170117195838909.jpg.chip.jpg') == {'age': 26, 'gender': 0, 'race': 1}
  assert utk_face.parse_file_name(NO_RACE_NAME) == {'age': 61, 'gender': 1, 'race': 5}
  assert utk_face.RACES[5] == 'unknown'
  assert utk_face.parse_file_name('55_0_0_20170116232725357jpg.chip.jpg')['age'] == 55  # A real typo.
  assert utk_face.parse_file_name(BAD_NAME) is None
  assert utk_face.parse_file_name('39_2_1_20170116174525125.jpg.chip.jpg') is None  # Gender is 0 or 1.


def test_split_is_a_fixed_seeded_order():
  split = utk_face.split_of_each(GOOD_NAMES, num_train=6, num_validation=2)
  assert [split[name] for name in GOOD_NAMES] == [
      'validation', 'test', 'train', 'train', 'test', 'validation', 'test', 'train', 'train', 'train', 'train']
  assert utk_face.split_of_each(reversed(GOOD_NAMES), 6, 2) == split


@pytest.mark.parametrize('layout', [write_tarball, write_folder], ids=['tarball', 'folder'])
def test_builder_keeps_good_files_and_reports_the_skipped(layout, tiny_splits, tmp_path, caplog):
  layout(str(tmp_path / 'raw'))
  builder = datasets.prepared_builder('utk_face', data_dir=str(tmp_path / 'tfds'), manual_dir=str(tmp_path / 'raw'))
  assert {name: split.num_examples for name, split in builder.info.splits.items()} == {
      'train': 8, 'validation': 2, 'test': 2}
  examples = {}
  for split in ('train', 'validation', 'test'):
    for example in tfds.as_numpy(builder.as_dataset(split=split)):
      examples[example['file_name'].decode()] = (split, example)
  assert sorted(examples) == sorted(GOOD_NAMES + [NO_RACE_NAME])
  expected_split = utk_face.split_of_each(examples, 8, 2)
  for name, (split, example) in examples.items():
    assert split == expected_split[name]
    labels = utk_face.parse_file_name(name)
    assert (example['age'], example['gender'], example['race']) == (labels['age'], labels['gender'], labels['race'])
    assert example['image'].shape == (200, 200, 3)
    assert abs(int(np.median(example['image'])) - min(255, 3 * labels['age'])) <= 3
  assert f"skipped 1 file(s) whose name does not parse: {BAD_NAME}" in caplog.text
  assert f"skipped 1 file(s) whose image does not decode: {CORRUPT_NAME}" in caplog.text


def test_missing_manual_files_are_a_clear_error(tmp_path):
  with pytest.raises(UserError, match='neither UTKFace.tar.gz nor a UTKFace/ folder'):
    datasets.prepared_builder('utk_face', data_dir=str(tmp_path / 'tfds'), manual_dir=str(tmp_path))
  with pytest.raises(UserError, match='TFDS cannot download it.*manual_dir'):
    datasets.prepared_builder('utk_face', data_dir=str(tmp_path / 'tfds'), manual_dir='')


def test_metrics_are_exact_per_age_band():
  ages = np.array([3, 10, 11, 35, 70, 90, 50])
  abs_error = np.array([1.0, 3.0, 5.0, 2.0, 4.0, 8.0, 100.0])
  mask = np.array([True] * 6 + [False])
  metrics = age.AgeMetrics.single_from_model_output(abs_error=abs_error, age=ages, mask=mask).compute()
  assert metrics['mae'] == pytest.approx(23 / 6)
  assert metrics['mae_0_10'] == pytest.approx(2.0)
  assert metrics['mae_11_20'] == pytest.approx(5.0)
  assert metrics['mae_31_40'] == pytest.approx(2.0)
  assert metrics['mae_61_up'] == pytest.approx(6.0)


def test_age_heads_turn_outputs_into_ages_and_losses():
  regression = age.RegressionHead(shift=33.0, scale=20.0)
  np.testing.assert_allclose(regression.ages(np.array([[0.0], [0.5]])), [33.0, 43.0])
  np.testing.assert_allclose(regression.loss(np.array([[0.5]]), np.array([40.0])), ([3.0], [3.0]))
  distribution = age.DistributionHead(max_age=2, label_sigma=1.0)
  assert distribution.num_outputs == 3
  # Equal logits over ages 0, 1, 2: the expectation is 1, and the cross-entropy to any target is log 3.
  np.testing.assert_allclose(distribution.ages(np.zeros((1, 3))), [1.0])
  np.testing.assert_allclose(distribution.loss(np.zeros((2, 3)), np.array([1.0, 0.0])),
                             ([np.log(3), 1 + np.log(3)], [0.0, 1.0]), rtol=1e-6)
  np.testing.assert_allclose(distribution.ages(np.array([[0.0, 0.0, 30.0]])), [2.0], atol=1e-6)


def test_unknown_head_is_a_clear_error():
  config = age_defaults.age_config()
  config.head_name = 'bins'
  with pytest.raises(UserError, match="config.head_name='bins' is unknown"):
    age.create_model(config)


def test_head_fields_of_another_head_are_a_clear_error():
  config = age_defaults.age_config()
  config.head_name = 'regression'  # config.head still holds the distribution head's fields.
  with pytest.raises(UserError, match="does not suit the 'regression' head"):
    age.create_model(config)


MODELS = {'original_cnn': classification_defaults.original_cnn(kernel_size=5, stride=4),
          'resnet': ml_collections.ConfigDict(dict(widths=(8, 16)))}
HEADS = {'regression': ml_collections.ConfigDict(dict(shift=33.0, scale=20.0)),
         'distribution': ml_collections.ConfigDict(dict(max_age=116, label_sigma=2.0))}


@pytest.mark.parametrize('model,head', [('original_cnn', 'regression'), ('resnet', 'regression'),
                                        ('resnet', 'distribution')])
def test_train_step_lowers_the_mae_on_a_fixed_batch(model, head):
  config = age_defaults.age_config()
  config.model_name, config.model, config.head_name, config.head = model, MODELS[model], head, HEADS[head]
  config.image_size = 32
  state = classification.state_initializer(age.create_model(config), optax.adam(1e-2), (32, 32, 3))(
      jax.random.key(0))
  rng = np.random.default_rng(0)
  batch = {'image': rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8), 'age': rng.integers(1, 90, 16)}
  step = jax.jit(lambda s, b: age.train_step(s, b, jax.random.key(1), head=age.create_head(config),
                                             max_shift=0, flip=False))
  maes = []
  for _ in range(30):
    state, metrics = step(state, batch)
    maes.append(float(metrics.compute()['mae']))
  assert maes[-1] < 0.8 * maes[0]


@pytest.fixture(scope='module')
def trained_run(utk_data_dir, tmp_path_factory):
  """`configs/age.py`, shrunk, trained for 6 steps with a checkpoint at step 3."""
  config = tiny_config(load_config(AGE_CONFIG), utk_data_dir, batch_size=4, eval_batch_size=2,
                       image_size=16, **{'model.widths': (4, 8)})
  workdir = str(tmp_path_factory.mktemp('age_run'))
  return config, workdir, train.train_and_evaluate(config, workdir)


def test_age_config_runs_reports_test_bands_and_resumes(trained_run, tmp_path):
  config, workdir, summary = trained_run
  assert {'eval/mae', 'test/mae', 'test/mae_0_10', 'test/mae_61_up'} <= set(summary)
  assert np.isfinite(summary['test/mae'])
  # Another 3 steps from the step-6 checkpoint of the same workdir, into a copy.
  resumed_dir = str(tmp_path / 'resumed')
  subprocess.run(['cp', '-r', workdir, resumed_dir], check=True)
  config = config.copy_and_resolve_references()
  config.num_train_steps = 9
  config.test_split = ''  # A candidate recipe trains on without the test split.
  resumed = train.train_and_evaluate(config, resumed_dir)
  assert 'eval/mae' in resumed and not any(name.startswith('test/') for name in resumed)
  assert checkpoints.create_manager(resumed_dir, 3).all_steps()[-1] == 9


def test_every_kept_checkpoint_is_scored_and_the_last_gives_the_runs_test_figures(trained_run):
  _, workdir, summary = trained_run
  results = age_checkpoints.checkpoint_metrics(workdir, split='test')
  assert list(results) == checkpoints.saved_steps(workdir)
  assert results[max(results)]['mae'] == pytest.approx(summary['test/mae'], rel=1e-5)
  assert results[max(results)]['mae_21_30'] == pytest.approx(summary['test/mae_21_30'], rel=1e-5, nan_ok=True)
  # |mean signed error| <= MAE, with equality when every error has one sign; the two are float32 sums taken
  # in different orders, so equality holds to a relative rounding error.
  assert all(abs(values['bias']) <= values['mae'] * (1 + 1e-5) for values in results.values())
  # Unless told otherwise it scores the validation split, which the run evaluated as eval/*.
  validation = age_checkpoints.checkpoint_metrics(workdir)
  assert validation[max(validation)]['mae'] == pytest.approx(summary['eval/mae'], rel=1e-5)


def test_predictor_reads_any_image_mode_and_size_and_names_unreadable_files(trained_run, tmp_path):
  _, workdir, _ = trained_run
  grey, rgba, broken = (str(tmp_path / name) for name in ('grey.png', 'rgba.png', 'broken.jpg'))
  Image.fromarray(np.full((50, 80), 120, np.uint8), 'L').save(grey)
  Image.fromarray(np.full((90, 60, 4), 200, np.uint8), 'RGBA').save(rgba)
  with open(broken, 'wb') as f:
    f.write(b'not an image')
  result = subprocess.run(
      [sys.executable, '-m', 'deeplearn.predict', f'--workdir={workdir}', f'--image={grey}',
       f'--image={broken}', f'--image={rgba}'],
      capture_output=True, text=True, timeout=300, cwd=os.path.join(os.path.dirname(__file__), '..'))
  assert result.returncode == 1
  lines = result.stdout.strip().splitlines()
  assert [line.split('\t')[0] for line in lines] == [grey, rgba]
  assert all(line.endswith(' years') for line in lines)
  assert f'error: cannot read {broken} as an image' in result.stderr


def test_gender_transfer_config_starts_from_the_age_backbone_and_plots_both(trained_run, tmp_path):
  _, age_workdir, _ = trained_run
  config = tiny_config(load_config(GENDER_CONFIG), trained_run[0].data_dir, batch_size=4, eval_batch_size=2,
                       image_size=16, log_every_steps=3, train_split='train[:6]', **{'model.widths': (4, 8)})
  config.transfer.update(source=age_workdir, head_steps=2)
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert {f'{split}/{variant}/accuracy' for split in ('eval', 'test') for variant in ('finetuned', 'scratch')} <= set(summary)
  age_params = checkpoints.restore_latest_as_saved(age_workdir)[0]['state']['params']
  saved = checkpoints.restore_latest_as_saved(str(tmp_path))[0]['state']['variants']
  assert saved['finetuned']['params']['Dense_0']['kernel'].shape == (8, 2)
  assert age_params['Dense_0']['kernel'].shape == (8, 117)  # One logit per age 0..116.
  plotted = comparison.plot_curves(history.read_scalars(str(tmp_path)), list(config.variants),
                                   1,  # 6 training images in batches of 4: one step an epoch.
                                   config.plot_metrics)['comparison']
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'images' / 'comparison_00000006.png')), plotted)
