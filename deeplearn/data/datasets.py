"""TFDS datasets, prepared online by download or offline from the publisher's raw files."""

import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

import jax
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds
from jax.experimental import multihost_utils

from deeplearn.core import storage
from deeplearn.core.errors import UserError
# Importing them registers `imdb_movie_reviews` and `utk_face` with TFDS.
from deeplearn.data import imdb_movie_reviews, utk_face  # pylint: disable=unused-import

Split = str | tfds.typing.SplitArg  # A split name, an expression ('train[:1000]') or a `tfds.even_splits` part.

# Stand-ins a manual_dir may hold for a publisher's archive: other archive names, or the folder it extracts to.
_MANUAL_STAND_INS = {'aclImdb_v1.tar.gz': ('aclImdb_train_test.tar.gz', 'aclImdb')}
# Splits built offline where the offline files lack some (the IMDB copy has no unlabelled reviews).
_OFFLINE_SPLITS = {'imdb_reviews': ('train', 'test')}


class _ManualDirDownloads:
  """Stands in for TFDS's download manager: each URL is served by the file of the same name in `manual_dir`.

  The builder's own generation code then runs unchanged, so the prepared dataset is the one an online
  download gives, without the download's checksum of the archive bytes. An archive may also be given
  by a stand-in (`_MANUAL_STAND_INS`), such as the folder it extracts to.
  """

  def __init__(self, download_manager: tfds.download.DownloadManager, name: str, manual_dir: str):
    self._download_manager = download_manager
    self._name = name
    self._manual_dir = manual_dir

  def _local_path(self, url: str) -> str | None:
    file_name = os.path.basename(url)
    for candidate in (file_name, *_MANUAL_STAND_INS.get(file_name, ())):
      if (storage.path(self._manual_dir) / candidate).exists():
        return os.fspath(storage.path(self._manual_dir) / candidate)
    return None

  def download(self, url_or_urls):
    missing = [os.path.basename(url) for url in jax.tree.leaves(url_or_urls) if self._local_path(url) is None]
    if missing:
      raise UserError(
          f'Dataset {self._name!r} is not prepared and config.manual_dir={self._manual_dir!r} lacks '
          f'{", ".join(sorted(missing))}. Either put the files there as their publisher ships them '
          f'(from {", ".join(sorted(set(jax.tree.leaves(url_or_urls))))}), or leave --config.manual_dir '
          'empty where TFDS can download the dataset.')
    return jax.tree.map(self._local_path, url_or_urls)

  def download_and_extract(self, url_or_urls):
    return self._download_manager.extract(self.download(url_or_urls))

  def iter_archive(self, path: str) -> Iterator[tuple[str, BinaryIO]]:
    """An archive's members, or an extracted folder's files named as the archive names them."""
    folder = storage.path(path)
    if not folder.is_dir():
      yield from self._download_manager.iter_archive(path)
      return
    for root, _, files in folder.walk():
      for file_name in sorted(files):
        with (root / file_name).open('rb') as f:
          yield os.fspath((root / file_name).relative_to(folder.parent)), f

  def __getattr__(self, name: str):
    return getattr(self._download_manager, name)


def _prepare_from_manual_dir(builder: tfds.core.DatasetBuilder, manual_dir: str) -> None:
  split_generators = builder._split_generators  # pylint: disable=protected-access

  def offline_split_generators(download_manager):
    generators = split_generators(_ManualDirDownloads(download_manager, builder.name, manual_dir))
    if builder.name not in _OFFLINE_SPLITS:
      return generators
    return [g for g in generators if g.name in _OFFLINE_SPLITS[builder.name]]

  builder._split_generators = offline_split_generators  # pylint: disable=protected-access
  with tempfile.TemporaryDirectory() as download_dir:  # TFDS names extracted files by basename alone.
    builder.download_and_prepare(
        download_dir=download_dir, download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))


def prepared_builder(name: str, *, data_dir: str, manual_dir: str) -> tfds.core.DatasetBuilder:
  """The TFDS builder for `name`, prepared first when `data_dir` lacks it (by process 0, the others waiting)."""
  if jax.process_count() == 1:
    return _prepared_here(name, data_dir=data_dir, manual_dir=manual_dir)
  if jax.process_index() == 0:
    _prepared_here(name, data_dir=data_dir, manual_dir=manual_dir)
  multihost_utils.sync_global_devices(f'dataset {name} prepared')
  return tfds.builder(name, data_dir=data_dir or None)


def _prepared_here(name: str, *, data_dir: str, manual_dir: str) -> tfds.core.DatasetBuilder:
  builder = tfds.builder(name, data_dir=data_dir or None)
  if builder.is_prepared():
    return builder
  if manual_dir:
    if not storage.path(manual_dir).is_dir():
      raise UserError(
          f'Dataset {name!r} is not prepared and config.manual_dir={manual_dir!r} is not a folder. '
          'Either point --config.manual_dir at the raw files as their publisher ships them, or '
          'leave it empty where TFDS can download the dataset.')
    _prepare_from_manual_dir(builder, manual_dir)
    return builder
  if builder.MANUAL_DOWNLOAD_INSTRUCTIONS:
    raise UserError(
        f'Dataset {name!r} is not prepared in {builder.data_dir!r} and TFDS cannot download it. '
        f'{builder.MANUAL_DOWNLOAD_INSTRUCTIONS.strip()} Then pass --config.manual_dir=THAT_FOLDER.')
  try:
    builder.download_and_prepare()
  except Exception as e:  # pylint: disable=broad-except
    raise UserError(
        f'Dataset {name!r} is not prepared in {builder.data_dir!r} and TFDS could not download '
        f'it ({type(e).__name__}: {str(e)[:200]}). Either let TFDS download it (a machine with '
        f'internet access), or pass --config.manual_dir=FOLDER holding the raw files as '
        f'the publisher ships them.') from e
  return builder


def check_split(builder: tfds.core.DatasetBuilder, split: Split) -> None:
  """Raises a `UserError` naming the dataset's splits when `split` is not one of them or a slice of them.

  Only a split name is checked, and only where the builder knows its splits (not under `tfds.testing.mock_data`).
  """
  if not isinstance(split, str) or not builder.info.splits:
    return
  try:
    builder.info.splits[split]  # pylint: disable=pointless-statement
  except (KeyError, ValueError) as e:
    raise UserError(
        f'Split {split!r} of dataset {builder.name!r} cannot be read ({str(e).splitlines()[0].rstrip(".")}). '
        f'Its splits are {sorted(builder.info.splits)}; a slice such as \'train[:90%]\' works too.') from e


def resized(image: tf.Tensor | np.ndarray, size: int) -> tf.Tensor:
  """A uint8 image `(H, W, C)` resized to `size` x `size` (antialiased bilinear), uint8."""
  resized_image = tf.image.resize(image, (size, size), antialias=True)
  return tf.cast(tf.clip_by_value(tf.round(resized_image), 0, 255), tf.uint8)


def load_split(name: str, split: Split, *, data_dir: str, manual_dir: str,
               image_size: int = 0) -> dict[str, np.ndarray]:
  """One whole split as numpy arrays, one entry per feature; images resized to `image_size` when it is > 0."""
  builder = prepared_builder(name, data_dir=data_dir, manual_dir=manual_dir)
  check_split(builder, split)
  if not image_size:
    return dict(tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1)))
  examples = builder.as_dataset(split=split).map(
      lambda example: {**example, 'image': resized(example['image'], image_size)},
      num_parallel_calls=tf.data.AUTOTUNE)
  batches = list(tfds.as_numpy(examples.batch(1000)))
  return {key: np.concatenate([batch[key] for batch in batches]) for key in batches[0]}
