"""IMDB sentiment: a bidirectional LSTM over byte-level BPE subwords, its padding masked, on length-bucketed batches.

The notebook's architecture (`configs/imdb_original.py`) with a wider embedding (128), whole reviews
(up to 1,024 subwords), the final states joined by the maximum of the LSTM outputs over each review's
real tokens, dropout 0.5 before the dense layers, and 3 epochs of Adam on a cosine schedule (it
overfits soon after the second).
"""

from deeplearn.imdb import defaults as imdb_defaults


def get_config():
  config = imdb_defaults.imdb_config()
  config.model.embedding_features = 128
  config.max_length = 1024
  config.bucket_boundaries = (64, 128, 192, 256, 384, 512, 768)
  config.model.pooling = 'final_and_max'
  config.model.dropout_rate = 0.5
  config.num_epochs = 3
  return config
