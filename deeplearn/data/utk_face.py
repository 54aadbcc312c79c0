"""UTKFace (aligned and cropped faces) as a TFDS dataset, `utk_face`, built from the publisher's files.

  tfds build deeplearn/utk_face.py --manual_dir=FOLDER   # FOLDER holds UTKFace.tar.gz or UTKFace/
"""

import hashlib
import io
import os
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from PIL import Image

from deeplearn.core import storage
from deeplearn.core.errors import UserError

IMAGE_SIZE = 200
RACES = ('white', 'black', 'asian', 'indian', 'others', 'unknown')
SPLIT_SEED = 'utk_face-v1'

# `[age]_[gender]_[race]_[date&time].jpg.chip.jpg`; three of the real names lack the race.
_FILE_NAME = re.compile(r'^(?P<age>\d{1,3})_(?P<gender>[01])_(?:(?P<race>[0-4])_)?\d{8,}.*\.jpg$', re.IGNORECASE)

Example = dict[str, Any]


def parse_file_name(file_name: str) -> dict[str, int] | None:
  """Age, gender and race from a UTKFace file name; None when the name does not follow the pattern."""
  match = _FILE_NAME.match(file_name)
  if not match:
    return None
  race = match['race']
  return {'age': int(match['age']), 'gender': int(match['gender']),
          'race': int(race) if race is not None else RACES.index('unknown')}


def split_of_each(file_names: Iterable[str], num_train: int, num_validation: int) -> dict[str, str]:
  """'train', 'validation' or 'test' for each file name, by a seeded hash order the same on every machine."""
  order = sorted(file_names, key=lambda name: hashlib.sha256(f'{SPLIT_SEED}/{name}'.encode()).hexdigest())
  return {name: 'train' if i < num_train else 'validation' if i < num_train + num_validation else 'test'
          for i, name in enumerate(order)}


def _image_or_none(data: bytes) -> bytes | np.ndarray | None:
  """The JPEG bytes as they are when they decode to 200x200 RGB, else the decoded and converted pixels; None if undecodable."""
  try:
    with Image.open(io.BytesIO(data)) as image:
      image.load()
      if image.mode == 'RGB' and image.size == (IMAGE_SIZE, IMAGE_SIZE):
        return data
      return np.asarray(image.convert('RGB').resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
  except (OSError, ValueError, Image.DecompressionBombError):
    return None


def _files_in(manual_dir: str, dl_manager: tfds.download.DownloadManager) -> Iterator[tuple[str, BinaryIO]]:
  """(file name, file object) of every file in `manual_dir/UTKFace.tar.gz` or else `manual_dir/UTKFace/`."""
  tarball = storage.path(manual_dir) / 'UTKFace.tar.gz'
  folder = storage.path(manual_dir) / 'UTKFace'
  if tarball.exists():
    for path, file in dl_manager.iter_archive(tarball):
      yield os.path.basename(path), file
  elif folder.is_dir():
    for file in sorted(folder.iterdir()):
      with file.open('rb') as f:
        yield file.name, f
  else:
    raise UserError(f'{manual_dir} holds neither UTKFace.tar.gz nor a UTKFace/ folder. '
                            f'{UtkFace.MANUAL_DOWNLOAD_INSTRUCTIONS}')


def read_examples(files: Iterable[tuple[str, BinaryIO]]) -> tuple[list[Example], dict[str, list[str]]]:
  """The examples of the files that parse and decode, and the names of those skipped, by reason."""
  examples, skipped = [], {'name does not parse': [], 'image does not decode': []}
  for file_name, file in files:
    labels = parse_file_name(file_name)
    if labels is None:
      skipped['name does not parse'].append(file_name)
      continue
    image = _image_or_none(file.read())
    if image is None:
      skipped['image does not decode'].append(file_name)
      continue
    examples.append({'image': image if isinstance(image, np.ndarray) else io.BytesIO(image),
                     'file_name': file_name, **labels})
  return examples, skipped


class UtkFace(tfds.core.GeneratorBasedBuilder):
  """UTKFace: 200x200 RGB faces labelled with age, gender and race; 20,000 train / 256 validation / rest test."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Aligned and cropped faces; splits by a seeded hash of the file name.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      'Download UTKFace.tar.gz ("Aligned & Cropped Faces") from https://susanqq.github.io/UTKFace/ and '
      'put it, or the UTKFace/ folder it extracts to, in the manual_dir.')
  NUM_TRAIN = 20_000
  NUM_VALIDATION = 256

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description='UTKFace aligned and cropped faces, labelled from their file names.',
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 3), encoding_format='jpeg'),
            'age': tfds.features.Scalar(np.int32),
            'gender': tfds.features.ClassLabel(names=['male', 'female']),
            'race': tfds.features.ClassLabel(names=list(RACES)),
            'file_name': tfds.features.Text(),
        }),
        supervised_keys=('image', 'age'),
        homepage='https://susanqq.github.io/UTKFace/',
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> dict[str, Iterator]:
    examples, skipped = read_examples(_files_in(dl_manager.manual_dir, dl_manager))
    for reason, names in skipped.items():
      if names:
        logging.warning('utk_face: skipped %d file(s) whose %s: %s', len(names), reason, ', '.join(names))
    logging.info('utk_face: %d images kept, %d skipped.', len(examples), sum(map(len, skipped.values())))
    split = split_of_each([e['file_name'] for e in examples], self.NUM_TRAIN, self.NUM_VALIDATION)
    return {name: self._generate_examples([e for e in examples if split[e['file_name']] == name])
            for name in ('train', 'validation', 'test')}

  def _generate_examples(self, examples: list[Example]) -> Iterator[tuple[str, Example]]:
    for example in examples:
      yield example['file_name'], example
