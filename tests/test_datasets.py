import numpy as np
import pytest
import tensorflow_datasets as tfds

from deeplearn import datasets
from deeplearn.errors import UserError
from tests.conftest import NUM_TEST, NUM_TRAIN, write_idx_files


def test_offline_build_from_idx_files_matches_their_content(tmp_path, tiny_counts):
  write_idx_files(str(tmp_path / 'raw'), seed=7)
  train = datasets.load_split('mnist', 'train', data_dir=str(tmp_path / 'tfds'),
                              manual_dir=str(tmp_path / 'raw'))
  test = datasets.load_split('mnist', 'test', data_dir=str(tmp_path / 'tfds'), manual_dir='')
  assert train['image'].shape == (NUM_TRAIN, 28, 28, 1) and len(test['label']) == NUM_TEST
  # The fixture writes each label as a bright row at 2 * label + 4.
  bright_rows = (train['image'][..., 0] == 255).sum(axis=2).argmax(axis=1)
  np.testing.assert_array_equal(bright_rows, train['label'] * 2 + 4)


def test_missing_raw_file_names_the_dataset_and_both_ways(tmp_path, tiny_counts):
  (tmp_path / 'empty').mkdir()
  with pytest.raises(UserError, match=r"'fashion_mnist'.*train-images-idx3-ubyte.gz.*TFDS can download"):
    datasets.prepared_builder('fashion_mnist', data_dir=str(tmp_path), manual_dir=str(tmp_path / 'empty'))


def test_failed_download_names_the_dataset_and_both_ways(tmp_path, monkeypatch):
  def offline(self, *args, **kwargs):
    raise ConnectionError('no network')
  monkeypatch.setattr(tfds.core.DatasetBuilder, 'download_and_prepare', offline)
  with pytest.raises(UserError, match=r"'mnist'.*could not download.*--config.manual_dir"):
    datasets.prepared_builder('mnist', data_dir=str(tmp_path), manual_dir='')
