"""What a task hands the generic training loop."""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import jax
import ml_collections
import numpy as np
from clu import metrics

from deeplearn.core import input_pipeline
from deeplearn.core.history import History
from deeplearn.core.input_pipeline import Batch, ShuffledBatches

TrainStep = Callable[[Any, Batch, jax.Array], tuple[Any, metrics.Collection]]
EvalStep = Callable[[Any, Batch], metrics.Collection]
# A whole evaluation split as batches of `eval_batch_size` rows, every example once, `mask` False on padding.
EvalSplit = Sequence[Batch]


class TrainData(Protocol):
  """The training data: this process's rows of the batch of any step, a pure function of the step."""
  steps_per_epoch: int

  def __call__(self, step: int) -> Batch: ...

  def stacked(self, steps: Sequence[int]) -> Batch:
    """The batches of `steps` (consecutive, of equal shapes) along a new leading axis, for one transfer."""


@dataclasses.dataclass(frozen=True)
class Task:
  """A model, its pure steps and its data, as the generic loop in `train.py` runs them.

  Attributes:
    init_state: rng -> the initial state.
    train_step: pure `(state, batch, rng) -> (state, metrics)`; advances `state.step` by exactly one
      (the loop checks it).
    eval_step: pure `(state, batch) -> metrics`; honours `batch['mask']`; None when there are no eval splits.
    train_batches: the training batch of each step.
    eval_splits: metric prefix (e.g. 'eval') -> a whole split evaluated under it.
    final_eval_splits: like `eval_splits`, evaluated once, at the end of training (e.g. the test split).
    num_train_steps: how many steps the run takes.
    eval_images: state -> named `(H, W, C)` uint8 images, rendered at every eval; None renders none.
    plot_history: the run's scalar history -> named images, rendered at the end of training.
    prepare_eval: state -> what `eval_step` and `eval_images` read instead of the state, made once per
      evaluation (e.g. a generator's averaged weights with recomputed BatchNorm statistics); None: the state.

  The state is any pytree with a `step` (a flax `TrainState`, or several of them with a shared step).
  """
  init_state: Callable[[jax.Array], Any]
  train_step: TrainStep
  eval_step: EvalStep | None
  train_batches: TrainData
  eval_splits: Mapping[str, EvalSplit]
  num_train_steps: int
  final_eval_splits: Mapping[str, EvalSplit] = dataclasses.field(default_factory=dict)
  eval_images: Callable[[Any], Mapping[str, np.ndarray]] | None = None
  plot_history: Callable[[History], Mapping[str, np.ndarray]] | None = None
  prepare_eval: Callable[[Any], Any] | None = None


def num_train_steps(config: ml_collections.ConfigDict, steps_per_epoch: int) -> int:
  """`config.num_train_steps` when positive, else `num_epochs` whole epochs."""
  if config.num_train_steps > 0:
    return config.num_train_steps
  return config.num_epochs * steps_per_epoch


def loader_kwargs(config: ml_collections.ConfigDict) -> dict[str, Any]:
  return dict(data_dir=config.data_dir, manual_dir=config.manual_dir)


def data_shards(config: ml_collections.ConfigDict) -> tuple[int, range]:
  """How many shards the training data is read as (`config.data_shards`, 0: one per process), and this process's."""
  num_shards = config.data_shards or jax.process_count()
  return num_shards, input_pipeline.process_shard_ids(num_shards, jax.process_index(), jax.process_count())


def shuffled_batches(config: ml_collections.ConfigDict, load: Callable[[Any], Batch]) -> ShuffledBatches:
  """The batches of `config.train_split`; this process loads only its shards of it.

  `load` reads one TFDS split (a string or a `tfds.even_splits` part) as arrays.
  """
  # TFDS (and TensorFlow) take seconds to import: loaded when data is read, not when a model is rebuilt.
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

  num_shards, shard_ids = data_shards(config)
  parts = tfds.even_splits(config.train_split, num_shards, drop_remainder=True)
  return ShuffledBatches([load(parts[i]) for i in shard_ids], config.batch_size, config.seed, shard_ids, num_shards)


def test_splits(config: ml_collections.ConfigDict, make_split: Callable[[str], EvalSplit]) -> dict[str, EvalSplit]:
  """`config.test_split` made by `make_split`, scored once at the end as `test/*`; none when it is empty."""
  return {'test': make_split(config.test_split)} if config.test_split else {}


def eval_split(arrays: Batch, config: ml_collections.ConfigDict) -> EvalSplit:
  """A whole split of arrays as padded, masked batches of `config.eval_batch_size`."""
  return input_pipeline.padded_batches(arrays, config.eval_batch_size)
