"""Bidirectional LSTM text classifiers whose recurrences stop at each review's true length (padding masked)."""

import flax.linen as nn
import jax
import jax.numpy as jnp


class BiLSTM(nn.Module):
  """One bidirectional LSTM layer over the first `lengths[i]` tokens of each row.

  Returns the per-token outputs `(B, T, 2 * features)` (zero past each length) and the final features
  `(B, 2 * features)`: the forward LSTM's state after the last real token and the backward LSTM's
  after the first, as Keras' `Bidirectional(LSTM)` gives without padding.
  """
  features: int
  dtype: jnp.dtype = jnp.float32  # What the gates compute in; the carry (cell and hidden state) stays float32.

  @nn.compact
  def __call__(self, x: jax.Array, lengths: jax.Array) -> tuple[jax.Array, jax.Array]:
    cell = lambda: nn.OptimizedLSTMCell(self.features, dtype=self.dtype)
    rnn = nn.Bidirectional(nn.RNN(cell()), nn.RNN(cell()), return_carry=True)
    ((_, forward_h), (_, backward_h)), outputs = rnn(x, seq_lengths=lengths)
    real = jnp.arange(x.shape[1])[None, :, None] < lengths[:, None, None]
    return jnp.where(real, outputs, 0.0), jnp.concatenate([forward_h, backward_h], axis=-1)


def masked_max(outputs: jax.Array, lengths: jax.Array) -> jax.Array:
  """The per-feature maximum over each row's first `lengths[i]` positions of `(B, T, F)` outputs."""
  real = jnp.arange(outputs.shape[1])[None, :, None] < lengths[:, None, None]
  return jnp.max(jnp.where(real, outputs, -jnp.inf), axis=1)


POOLINGS = ('final', 'final_and_max')


class TextClassifier(nn.Module):
  """Embedding -> BiLSTM layers (all but the last return sequences) -> Dense(ReLU) -> one logit per review.

  The original: `lstm_features=(64,)`, `pooling='final'`; its stacked variant: `(64, 32)`.
  `pooling='final_and_max'` adds the maximum of the last layer's outputs over the real tokens.
  """
  vocab_size: int
  embedding_features: int = 64
  lstm_features: tuple[int, ...] = (64,)
  dense_features: int = 64
  dropout_rate: float = 0.0
  pooling: str = 'final'
  embedding_dropout_rate: float = 0.0  # Drops whole embedding features of a review, at every position.
  # False reads the padding as tokens, as the notebook's Keras model did: both LSTMs run over the whole
  # padded row (the backward one starts in the padding) and the pooling sees every position.
  mask_padding: bool = True
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters, the LSTMs' carry and the logit stay float32.

  @nn.compact
  def __call__(self, tokens: jax.Array, lengths: jax.Array, train: bool = False) -> jax.Array:
    if not self.mask_padding:
      lengths = jnp.full_like(lengths, tokens.shape[1])
    x = nn.Embed(self.vocab_size, self.embedding_features, dtype=self.dtype)(tokens)
    x = nn.Dropout(self.embedding_dropout_rate, broadcast_dims=(1,), deterministic=not train)(x)
    for features in self.lstm_features:
      x, final = BiLSTM(features, self.dtype)(x, lengths)
    if self.pooling == 'final_and_max':
      final = jnp.concatenate([final, masked_max(x, lengths)], axis=-1)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(final)
    x = nn.relu(nn.Dense(self.dense_features, dtype=self.dtype)(x))
    return nn.Dense(1, dtype=self.dtype)(x)[:, 0].astype(jnp.float32)
