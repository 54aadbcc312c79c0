"""The IMDB notebook's model: Embedding(vocab, 64) -> BiLSTM(64) -> Dense(64) -> Dense(1), padding masked.

The stacked variant of the notebook: `--config.model.lstm_features='(64, 32)'`. `configs/imdb_rnn.py` is the
stronger recipe that ships.
"""

from deeplearn.imdb import defaults as imdb_defaults


def get_config():
  config = imdb_defaults.imdb_config()
  config.cpu_devices = 2  # On a CPU, one device per core of two: 1.3x the steps/s of one (docs/results.md).
  return config
