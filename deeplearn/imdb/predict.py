"""Sentiment of reviews from a trained imdb run (`python -m deeplearn.predict --workdir=IMDB_RUN --text=...`)."""

from collections.abc import Sequence

import jax
import numpy as np

from deeplearn.core import input_pipeline
from deeplearn.core.errors import UserError
from deeplearn.core.runs import Run
from deeplearn.imdb import task as imdb


def positive_probabilities(run: Run, texts: Sequence[str]) -> np.ndarray:
  """The probability that each review is positive."""
  empty = [i for i, text in enumerate(texts) if not imdb.clean(text).strip()]
  if empty or not texts:
    raise UserError(f'review {empty[0] + 1 if empty else 1} is empty; give each review some text.')
  subwords = imdb.trained_tokenizer(run.workdir)
  batch = input_pipeline.text_batch(imdb.encode(subwords, texts, run.config.max_length),
                                    np.zeros(len(texts), np.int32), run.config.pad_multiple)
  logits = jax.jit(run.model.apply)(run.variables, batch['tokens'], batch['length'])
  return np.asarray(jax.nn.sigmoid(logits))


def predict(run: Run, images: Sequence[str], texts: Sequence[str]) -> int:
  """Prints the probability that each review is positive, one line each."""
  if images:
    raise UserError('an imdb run reads reviews: give them with --text=REVIEW or --file=FILE, not --image.')
  for text, probability in zip(texts, positive_probabilities(run, texts)):
    print(f'{probability:.3f}\t{text}')
  return 0
