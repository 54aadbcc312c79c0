"""IMDB sentiment with the original's bidirectional LSTM, its padding masked, on length-bucketed batches."""

from deeplearn import defaults


def get_config():
  return defaults.imdb_config()
