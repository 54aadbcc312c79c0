"""IMDB sentiment: reviews through a subword tokenizer into a bidirectional LSTM that masks its padding."""

import functools
from collections.abc import Callable

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from clu import metrics

from deeplearn import models
from deeplearn.core import input_pipeline, optimizers, train_state
from deeplearn.core.errors import UserError
from deeplearn.core.input_pipeline import Batch
from deeplearn.core.task import EvalSplit, Task, loader_kwargs, num_train_steps, test_splits
from deeplearn.core.train_state import TrainState
from deeplearn.data import datasets
from deeplearn.imdb import tokenizer
from deeplearn.models import rnn


@flax.struct.dataclass
class TextMetrics(metrics.Collection):
  loss: metrics.Average.from_output('loss')
  accuracy: metrics.Average.from_output('correct')


def clean(text: bytes | str) -> str:
  """A review as text, with the HTML line breaks of the IMDB files as spaces."""
  text = text.decode('utf-8') if isinstance(text, bytes) else text
  return text.replace('<br />', ' ')


def encode(subwords, texts, max_length: int) -> list[np.ndarray]:
  """Each text's token ids, cut to the first `max_length`."""
  return [np.asarray(e.ids[:max_length], np.int32) for e in subwords.encode_batch([clean(t) for t in texts])]


def create_model(config: ml_collections.ConfigDict, vocab_size: int) -> nn.Module:
  if config.model.pooling not in rnn.POOLINGS:
    raise UserError(f'config.model.pooling={config.model.pooling!r} is not one of {rnn.POOLINGS}.')
  return models.create(config.model_name, config.model, config.compute_dtype, config.conv, vocab_size=vocab_size)


def trained_model(config: ml_collections.ConfigDict, workdir: str) -> nn.Module:
  """The run's model, its vocabulary that of the tokenizer the run learned."""
  return create_model(config, trained_tokenizer(workdir).get_vocab_size())


def trained_tokenizer(workdir: str):
  """The tokenizer a run learned and kept in its workdir."""
  subwords = tokenizer.load(workdir)
  if subwords is None:
    raise UserError(f'{workdir} holds no {tokenizer.FILE_NAME}; train there first.')
  return subwords


AverageDecay = Callable[[jax.Array], jax.Array]


def check_average_fields(config: ml_collections.ConfigDict) -> None:
  """Raises `UserError` unless `ema_decay` and `swa_start` ask for one weight average at most, each in [0, 1)."""
  for field in ('ema_decay', 'swa_start'):
    if not 0 <= config[field] < 1:
      raise UserError(f'config.{field}={config[field]} must be in [0, 1): 0 keeps no average.')
  if config.ema_decay > 0 and config.swa_start > 0:
    raise UserError('config.ema_decay and config.swa_start each ask for a weight average: set one of them to 0.')


def average_decay(config: ml_collections.ConfigDict, num_steps: int) -> AverageDecay | None:
  """The weight average's decay as a function of the step (`ema_decay` or `swa_start`), or None for none."""
  if config.ema_decay > 0:
    return functools.partial(train_state.ema_decay, decay=config.ema_decay)
  if config.swa_start > 0:
    return functools.partial(train_state.uniform_decay, start_step=round(config.swa_start * num_steps))
  return None


def init_state(rng: jax.Array, *, model: nn.Module, tx: optax.GradientTransformation,
               keep_average: bool = False) -> TrainState:
  """The model's initial state, keeping an average of its parameters where asked."""
  params = model.init(rng, jnp.zeros((1, 8), jnp.int32), jnp.ones((1,), jnp.int32))['params']
  state = TrainState.create(apply_fn=model.apply, params=params, tx=tx)
  return train_state.with_average(state) if keep_average else state


def _metrics(logits: jax.Array, labels: jax.Array, mask: jax.Array | None = None) -> TextMetrics:
  loss = optax.sigmoid_binary_cross_entropy(logits, labels.astype(jnp.float32))
  return TextMetrics.single_from_model_output(loss=loss, correct=(logits > 0) == (labels == 1), mask=mask)


def train_step(state: TrainState, batch: Batch, rng: jax.Array, *,
               average_decay: AverageDecay | None = None) -> tuple[TrainState, TextMetrics]:
  """One optimiser step on binary cross-entropy from logits; the weight average follows, where one is kept."""
  def loss_fn(params):
    logits = state.apply_fn({'params': params}, batch['tokens'], batch['length'], train=True,
                            rngs={'dropout': rng})
    return optax.sigmoid_binary_cross_entropy(logits, batch['label'].astype(jnp.float32)).mean(), logits

  (_, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads)
  if average_decay is not None:
    state = train_state.update_average(state, average_decay(state.step))
  return state, _metrics(logits, batch['label'])


def eval_step(state: TrainState, batch: Batch) -> TextMetrics:
  logits = state.apply_fn({'params': state.params}, batch['tokens'], batch['length'])
  return _metrics(logits, batch['label'], batch['mask'])


def load_tokenizer(config: ml_collections.ConfigDict, workdir: str, train_texts: np.ndarray):
  """The workdir's tokenizer; learned from the training reviews (and saved there) on a run's first start."""
  subwords = tokenizer.load(workdir)
  if subwords is None:
    subwords = tokenizer.learn((clean(t) for t in train_texts), config.vocab_size)
    if jax.process_index() == 0:
      tokenizer.save(subwords, workdir)
  return subwords


def get_task(config: ml_collections.ConfigDict, workdir: str) -> Task:
  check_average_fields(config)
  train = datasets.load_split(config.dataset, config.train_split, **loader_kwargs(config))
  subwords = load_tokenizer(config, workdir, train['text'])

  def eval_split(split: str) -> EvalSplit:
    """A split's reviews in length-sorted batches: every review once, little padding."""
    arrays = datasets.load_split(config.dataset, split, **loader_kwargs(config))
    return input_pipeline.length_sorted_batches(encode(subwords, arrays['text'], config.max_length),
                                                arrays['label'], config.eval_batch_size, config.pad_multiple)

  batches = input_pipeline.BucketedBatches(
      encode(subwords, train['text'], config.max_length), train['label'], config.batch_size,
      tuple(config.bucket_boundaries), config.pad_multiple, config.seed, jax.process_index(), jax.process_count())
  steps = num_train_steps(config, batches.steps_per_epoch)
  decay = average_decay(config, steps)
  return Task(
      init_state=functools.partial(init_state, model=create_model(config, subwords.get_vocab_size()),
                                   tx=optimizers.create_optimizer(config.optimizer, steps),
                                   keep_average=decay is not None),
      train_step=functools.partial(train_step, average_decay=decay),
      eval_step=eval_step,
      prepare_eval=train_state.averaged if decay is not None else None,
      train_batches=batches,
      eval_splits={'eval': eval_split(config.eval_split)},
      final_eval_splits=test_splits(config, eval_split),
      num_train_steps=steps,
  )
