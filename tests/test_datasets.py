import gzip
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from deeplearn.core.errors import UserError
from deeplearn.data import datasets
from tests.conftest import IDX_FILES, NUM_TEST, NUM_TRAIN, write_idx_files


def _raw_images(folder, split):
  with gzip.open(os.path.join(folder, IDX_FILES[split][0])) as f:
    return np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28, 1)


def _sorted(images):
  return images[np.lexsort(images.reshape(len(images), -1).T)]


def test_offline_builds_hold_exactly_their_own_files(tmp_path, tiny_counts):
  data_dir = str(tmp_path / 'tfds')
  for seed, name in enumerate(('mnist', 'fashion_mnist')):  # Same file names, different content.
    write_idx_files(str(tmp_path / name), seed=seed)
  for name in ('mnist', 'fashion_mnist'):
    for split, count in (('train', NUM_TRAIN), ('test', NUM_TEST)):
      loaded = datasets.load_split(name, split, data_dir=data_dir, manual_dir=str(tmp_path / name))
      assert loaded['image'].shape == (count, 28, 28, 1)
      np.testing.assert_array_equal(_sorted(loaded['image']), _sorted(_raw_images(str(tmp_path / name), split)))
      # The fixture writes each label as a bright row at 2 * label + 4.
      bright_rows = (loaded['image'][..., 0] == 255).sum(axis=2).argmax(axis=1)
      np.testing.assert_array_equal(bright_rows, loaded['label'] * 2 + 4)


def test_missing_raw_file_names_the_dataset_and_both_ways(tmp_path, tiny_counts):
  (tmp_path / 'empty').mkdir()
  with pytest.raises(UserError, match=r"'fashion_mnist'.*train-images-idx3-ubyte.gz.*TFDS can download"):
    datasets.prepared_builder('fashion_mnist', data_dir=str(tmp_path), manual_dir=str(tmp_path / 'empty'))


@pytest.mark.parametrize('split', ['tset', '', 'train[:200%]'])
def test_a_split_the_dataset_lacks_is_one_error_naming_its_splits(split, data_dir):
  with pytest.raises(UserError, match=r"Split .* of dataset 'mnist' cannot be read .* splits are \['test', 'train'\]"):
    datasets.load_split('mnist', split, data_dir=data_dir, manual_dir='')


def test_failed_download_names_the_dataset_and_both_ways(tmp_path, monkeypatch):
  def offline(self, *args, **kwargs):
    raise ConnectionError('no network')
  monkeypatch.setattr(tfds.core.DatasetBuilder, 'download_and_prepare', offline)
  with pytest.raises(UserError, match=r"'mnist'.*could not download.*--config.manual_dir"):
    datasets.prepared_builder('mnist', data_dir=str(tmp_path), manual_dir='')
