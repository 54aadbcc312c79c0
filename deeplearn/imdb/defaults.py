"""The IMDB fields, set to the notebook's one-layer BiLSTM; `configs/imdb*.py` start from these."""

import ml_collections

from deeplearn.core.config import base_config, optimizer_config


def imdb_config() -> ml_collections.ConfigDict:
  """`base_config()` plus the IMDB fields, set to the original one-layer BiLSTM."""
  config = base_config()
  config.task = 'imdb'
  # TFDS's `imdb_reviews` with each review's movie (`deeplearn/data/imdb_movie_reviews.py`). Validation
  # (eval/*) is the training reviews of a tenth of the training movies, none of them in `train_minus_validation`,
  # as the publisher kept the test movies apart from the training ones; the test split is scored once, at the end.
  config.dataset = 'imdb_movie_reviews'
  config.train_split = 'train_minus_validation'
  config.eval_split = 'validation'
  config.test_split = 'test'
  config.vocab_size = 8000  # Subword pieces learned from the training reviews, padding included.
  config.max_length = 512  # Tokens kept from the start of each review.
  config.bucket_boundaries = (64, 128, 192, 256, 384)  # Reviews batch with others of similar length.
  config.pad_multiple = 32  # Batches pad to their longest review rounded up to this: few compiled shapes.
  config.batches_per_transfer = 1  # Batch shapes vary.
  config.batch_size = 64
  config.eval_batch_size = 250

  config.model_name = 'text_classifier'
  config.model = ml_collections.ConfigDict(dict(
      embedding_features=64,
      lstm_features=(64,),  # One BiLSTM layer per entry; the stacked original: (64, 32).
      dense_features=64,
      dropout_rate=0.0,
      embedding_dropout_rate=0.0,  # Whole embedding features of a review dropped in training.
      token_dropout_rate=0.0,  # Whole tokens' embeddings dropped in training (word dropout).
      pooling='final',  # The final states, as the original; 'final_and_max' adds a max over the outputs.
      mask_padding=True,  # False reads the padding as tokens, as the notebook did.
      recompute_steps=True,  # Backward recomputes each LSTM step: faster on CPU at 64 units (models/rnn.BiLSTM).
  ))

  config.optimizer = optimizer_config('adam', 1e-3, 'cosine', 100, b1=0.9)
  config.num_epochs = 3
  # > 0: evaluation, the test score and `predict` read an exponential moving average of the parameters
  # with this decay (less over the first steps: `core.train_state.ema_decay`); 0 keeps none.
  config.ema_decay = 0.0
  # > 0: they read the plain mean of the parameters after every step from this fraction of training on
  # (stochastic weight averaging); 0 keeps none. One of the two averages at most.
  config.swa_start = 0.0
  config.eval_every_steps = 390
  config.checkpoint_every_steps = 390
  return config
