"""IMDB reviews with the movie each one is of, and a validation split of movies the training reviews lack.

The published splits keep their movies apart (0.1% of the test reviews are of a movie with training
reviews). A validation split sliced from `train` (`train[90%:]`) is not like that: 96.5% of its reviews are of
movies the other 90% also review, so it rewards recognising those movies (their names, plots, actors)
and scores higher than the test split does. This builder, registered as `imdb_movie_reviews`, is TFDS's
`imdb_reviews` (the same archive, texts and labels, built by the same code online or from `manual_dir`)
with each review's IMDb title (`movie`, from the archive's `urls_*.txt`) and the training reviews also
split by movie:

- `train`, `test`: as published, 25,000 reviews each.
- `validation`: every training review of a fixed tenth of the training movies (by a seeded hash order of
  their titles, the same on every machine).
- `train_minus_validation`: the other training reviews.
"""

import hashlib
import os
import re
from collections.abc import Collection, Iterable, Iterator
from typing import Any, BinaryIO

import tensorflow_datasets as tfds
from etils import epath
from tensorflow_datasets.datasets.imdb_reviews import imdb_reviews_dataset_builder as imdb_reviews

from deeplearn.core.errors import UserError

SPLIT_SEED = 'imdb_movie_reviews-v1'
VALIDATION_FRACTION = 0.1  # Of the training movies.

_REVIEW = re.compile(r'^aclImdb/(?P<split>train|test)/(?P<label>neg|pos)/(?P<id>\d+)_\d+\.txt$')
_URLS = re.compile(r'^aclImdb/(?P<split>train|test)/urls_(?P<label>neg|pos)\.txt$')
_TITLE = re.compile(r'/title/(?P<title>tt\d+)/')

ReviewKey = tuple[str, str, int]  # (split, label, review id), as the archive's paths name them.


def movies_of_reviews(archive: Iterable[tuple[str, BinaryIO]]) -> dict[ReviewKey, str]:
  """The IMDb title of each labelled review, read from the archive's `urls_{neg,pos}.txt` (line i: review i)."""
  movies, found = {}, set()
  for path, file in archive:
    match = _URLS.match(path.replace(os.sep, '/'))
    if not match:
      continue
    found.add(path)
    for review_id, url in enumerate(file.read().decode().split()):
      title = _TITLE.search(url)
      if title is None:
        raise UserError(f'{path} line {review_id + 1} is not an IMDb title URL ({url!r}); the archive is damaged.')
      movies[(match['split'], match['label'], review_id)] = title['title']
  if len(found) < 4:
    raise UserError(f'The IMDB archive lacks some of aclImdb/{{train,test}}/urls_{{neg,pos}}.txt (found '
                    f'{sorted(found)}); they name each review\'s movie. Use the archive as its publisher ships it.')
  return movies


def validation_movies(titles: Collection[str]) -> frozenset[str]:
  """The fixed tenth of `titles` whose reviews are the validation split."""
  order = sorted(titles, key=lambda title: hashlib.sha256(f'{SPLIT_SEED}/{title}'.encode()).hexdigest())
  return frozenset(order[:round(VALIDATION_FRACTION * len(order))])


class Builder(imdb_reviews.Builder):
  """TFDS's `imdb_reviews` with each review's `movie` and the training reviews split by movie (module docstring)."""
  name = 'imdb_movie_reviews'

  @tfds.core.utils.classproperty
  @classmethod
  def _checksums_path(cls) -> epath.Path | None:
    """`imdb_reviews`' registered checksums: an online download of the same archive is verified as TFDS's is."""
    return imdb_reviews.Builder._checksums_path  # pylint: disable=protected-access

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            'text': tfds.features.Text(),
            'label': tfds.features.ClassLabel(names=['neg', 'pos']),
            'movie': tfds.features.Text(),  # The IMDb title, e.g. 'tt0453418'.
        }),
        supervised_keys=('text', 'label'),
        homepage='http://ai.stanford.edu/~amaas/data/sentiment/',
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager) -> list[tfds.core.SplitGenerator]:
    archive_path = dl_manager.download(imdb_reviews._DOWNLOAD_URL)  # pylint: disable=protected-access
    movies = movies_of_reviews(dl_manager.iter_archive(archive_path))
    train_movies = frozenset(movie for (split, _, _), movie in movies.items() if split == 'train')
    held_out = validation_movies(train_movies)

    def split(name: str, directory: str, movies_kept: frozenset[str] | None = None) -> tfds.core.SplitGenerator:
      return tfds.core.SplitGenerator(name=name, gen_kwargs=dict(
          archive=dl_manager.iter_archive(archive_path), directory=directory, movies=movies,
          movies_kept=movies_kept))
    return [split('train', 'train'), split('test', 'test'), split('validation', 'train', held_out),
            split('train_minus_validation', 'train', train_movies - held_out)]

  def _generate_examples(self, archive: Iterable[tuple[str, BinaryIO]], directory: str,
                         movies: dict[ReviewKey, str],
                         movies_kept: frozenset[str] | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """The reviews under `aclImdb/{directory}`, only those of `movies_kept` unless it is None."""
    for path, file in archive:
      match = _REVIEW.match(path.replace(os.sep, '/'))
      if not match or match['split'] != directory:
        continue
      movie = movies.get((match['split'], match['label'], int(match['id'])))
      if movie is None:
        raise UserError(f'{path} has no line in aclImdb/{directory}/urls_{match["label"]}.txt naming its movie; '
                        'use the archive as its publisher ships it.')
      if movies_kept is None or movie in movies_kept:
        yield path, {'text': file.read().strip(), 'label': match['label'], 'movie': movie}
