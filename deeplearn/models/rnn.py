"""Bidirectional LSTM text classifiers whose recurrences stop at each review's true length (padding masked)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax.linen.recurrent import DenseParams


class _GateWeights(nn.Module):
  """One direction's kernels and biases, named and initialised as `nn.OptimizedLSTMCell`'s (`ii`..`io`, `hi`..`ho`)."""
  features: int

  @nn.compact
  def __call__(self, input_features: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The four gates' input kernels `(E, 4F)`, recurrent kernels `(F, 4F)` and biases `(4F,)`, in i, f, g, o order."""
    shape_of = lambda features: jnp.zeros((1, features))  # Only its last dimension is read.
    inputs = [DenseParams(self.features, use_bias=False, name=f'i{gate}')(shape_of(input_features)) for gate in 'ifgo']
    hidden = [DenseParams(self.features, kernel_init=nn.initializers.orthogonal(), name=f'h{gate}')(
        shape_of(self.features)) for gate in 'ifgo']
    return (jnp.concatenate([kernel for kernel, _ in inputs], axis=-1),
            jnp.concatenate([kernel for kernel, _ in hidden], axis=-1),
            jnp.concatenate([bias for _, bias in hidden], axis=-1))


class BiLSTM(nn.Module):
  """One bidirectional LSTM layer over the first `lengths[i]` tokens of each row.

  Returns the per-token outputs `(B, T, 2 * features)` (zero past each length) and the final features
  `(B, 2 * features)`: the forward LSTM's state after the last real token and the backward LSTM's
  after the first, as Keras' `Bidirectional(LSTM)` gives without padding.

  The same function and parameters as `nn.Bidirectional` of two `nn.RNN(nn.OptimizedLSTMCell)` with
  `seq_lengths` (tested), in one scan that steps both directions at once: step `s` reads position `s`
  forwards and `T - 1 - s` backwards, so the backward state stays zero until it reaches a row's last
  real token, and each step's matmuls take both directions in one batched product. Padding never
  updates a state. (Projecting every position's input before the scan, as one large matmul, measured
  slower on XLA:CPU; docs/results.md.)

  With `recompute_steps`, the backward pass recomputes each step from its carry instead of reading the
  dozen activations the forward pass would store per step: the same values and gradients, faster on
  XLA:CPU for small layers (64 features) and slower for wider ones (docs/results.md).
  """
  features: int
  dtype: jnp.dtype = jnp.float32  # What the matmuls compute in; the carry (cell and hidden state) stays float32.
  recompute_steps: bool = False

  @nn.compact
  def __call__(self, x: jax.Array, lengths: jax.Array) -> tuple[jax.Array, jax.Array]:
    batch, length, _ = x.shape
    directions = [_GateWeights(self.features, name=f'OptimizedLSTMCell_{d}')(x.shape[-1]) for d in range(2)]
    input_kernels, recurrent_kernels, biases = (jnp.stack(w).astype(self.dtype) for w in zip(*directions))
    time_major = x.astype(self.dtype).transpose(1, 0, 2)
    inputs = jnp.stack([time_major, time_major[::-1]], axis=1)  # (T, 2, B, E)
    positions = jnp.stack([jnp.arange(length), jnp.arange(length)[::-1]], axis=1)  # (T, 2)

    def step(carry, step_inputs):
      c, h = carry
      x_t, position = step_inputs
      gates = (jnp.einsum('dbe,dek->dbk', x_t, input_kernels) + biases[:, None, :]
               + jnp.einsum('dbf,dfk->dbk', h.astype(self.dtype), recurrent_kernels)).astype(jnp.float32)
      i, f, g, o = jnp.split(gates, 4, axis=-1)
      new_c = nn.sigmoid(f) * c + nn.sigmoid(i) * jnp.tanh(g)
      new_h = nn.sigmoid(o) * jnp.tanh(new_c)
      real = position[:, None, None] < lengths[None, :, None]
      return (jnp.where(real, new_c, c), jnp.where(real, new_h, h)), jnp.where(real, new_h, 0.0)

    if self.recompute_steps:
      step = jax.checkpoint(step, policy=jax.checkpoint_policies.nothing_saveable, prevent_cse=False)
    zeros = jnp.zeros((2, batch, self.features), jnp.float32)
    (_, final_h), outputs = jax.lax.scan(step, (zeros, zeros), (inputs, positions))
    outputs = jnp.concatenate([outputs[:, 0], outputs[::-1, 1]], axis=-1).transpose(1, 0, 2)
    return outputs.astype(self.dtype), jnp.concatenate([final_h[0], final_h[1]], axis=-1)


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
  token_dropout_rate: float = 0.0  # Drops whole tokens' embeddings (word dropout), each position on its own.
  # False reads the padding as tokens, as the notebook's Keras model did: both LSTMs run over the whole
  # padded row (the backward one starts in the padding) and the pooling sees every position.
  mask_padding: bool = True
  recompute_steps: bool = False  # The BiLSTMs recompute each step in the backward pass (see `BiLSTM`).
  dtype: jnp.dtype = jnp.float32  # What it computes in; parameters, the LSTMs' carry and the logit stay float32.

  @nn.compact
  def __call__(self, tokens: jax.Array, lengths: jax.Array, train: bool = False) -> jax.Array:
    if not self.mask_padding:
      lengths = jnp.full_like(lengths, tokens.shape[1])
    x = nn.Embed(self.vocab_size, self.embedding_features, dtype=self.dtype)(tokens)
    x = nn.Dropout(self.embedding_dropout_rate, broadcast_dims=(1,), deterministic=not train)(x)
    x = nn.Dropout(self.token_dropout_rate, broadcast_dims=(2,), deterministic=not train, name='token_dropout')(x)
    for features in self.lstm_features:
      x, final = BiLSTM(features, self.dtype, recompute_steps=self.recompute_steps)(x, lengths)
    if self.pooling == 'final_and_max':
      final = jnp.concatenate([final, masked_max(x, lengths)], axis=-1)
    x = nn.Dropout(self.dropout_rate, deterministic=not train)(final)
    x = nn.relu(nn.Dense(self.dense_features, dtype=self.dtype)(x))
    return nn.Dense(1, dtype=self.dtype)(x)[:, 0].astype(jnp.float32)
