"""Batches from in-memory splits: training batches as a pure function of the step, eval batches padded and masked."""

import concurrent.futures
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import numpy as np

from deeplearn.core.errors import UserError

Batch = dict[str, np.ndarray]
T = TypeVar('T')


def num_examples(arrays: Batch) -> int:
  return len(next(iter(arrays.values())))


def aligned_empty(shape: Sequence[int], dtype: np.dtype, alignment: int = 64) -> np.ndarray:
  """An uninitialised array whose data starts on an `alignment`-byte boundary.

  XLA:CPU adopts such a host array as a device buffer without copying it (an age batch chunk, 123 MB: 0.1 ms
  against 70 ms for one at numpy's default 16-byte alignment).
  """
  size = int(np.prod(shape)) * np.dtype(dtype).itemsize
  buffer = np.empty(size + alignment, np.uint8)
  start = -buffer.ctypes.data % alignment
  return buffer[start:start + size].view(dtype).reshape(shape)


class ShuffledBatches:
  """Training batches of a split read as `num_shards` equal shards; a process holds only the shards `shard_ids`.

  Every global batch takes `batch_size / num_shards` rows from each shard, in shard order; epoch `e`
  visits shard `s` in a permutation seeded by `(seed, e, s)`. The batch of a step depends only on the
  step and `num_shards`, not on how many processes share the shards, so a resumed run reads what an
  unbroken run reads, on any number of processes. `__call__` gives this process's rows: those of its shards.
  """

  def __init__(self, shards: Sequence[Batch], batch_size: int, seed: int,
               shard_ids: Sequence[int] = (0,), num_shards: int = 1):
    if batch_size % num_shards:
      raise UserError(f'batch_size={batch_size} does not split evenly over {num_shards} data shards; '
                      f'set --config.batch_size to a multiple of {num_shards}.')
    self.shards = list(shards)
    self.shard_ids = list(shard_ids)
    self.batch_size = batch_size
    self.seed = seed
    self._rows_per_shard = batch_size // num_shards
    shard_size = min(num_examples(shard) for shard in self.shards)
    self.steps_per_epoch = shard_size // self._rows_per_shard
    self._epoch = -1
    self._orders: list[np.ndarray] = []
    if self.steps_per_epoch == 0:
      raise UserError(f'batch_size={batch_size} exceeds the {shard_size * num_shards} training examples; '
                      'lower --config.batch_size.')

  def _permutations(self, epoch: int) -> list[np.ndarray]:
    if epoch != self._epoch:
      self._epoch = epoch
      self._orders = [np.random.default_rng([self.seed, epoch, shard_id]).permutation(num_examples(shard))
                      for shard, shard_id in zip(self.shards, self.shard_ids)]
    return self._orders

  def _rows(self, step: int) -> list[np.ndarray]:
    """For each shard held, the indices of its rows in the batch of `step`."""
    epoch, index = divmod(step, self.steps_per_epoch)
    rows = slice(index * self._rows_per_shard, (index + 1) * self._rows_per_shard)
    return [order[rows] for order in self._permutations(epoch)]

  def stacked(self, steps: Sequence[int]) -> Batch:
    """The batches of `steps` along a new leading axis, gathered straight into arrays a device can adopt."""
    rows = [np.stack(shard_rows) for shard_rows in zip(*(self._rows(step) for step in steps))]
    width = self._rows_per_shard
    chunk = {}
    for key, first in self.shards[0].items():
      chunk[key] = aligned_empty((len(steps), width * len(self.shards), *first.shape[1:]), first.dtype)
      for i, (shard, shard_rows) in enumerate(zip(self.shards, rows)):
        # mode='clip' (the rows are in range) writes into `out` directly; 'raise' would buffer a copy.
        np.take(shard[key], shard_rows, axis=0, out=chunk[key][:, i * width:(i + 1) * width], mode='clip')
    return chunk

  def __call__(self, step: int) -> Batch:
    return {k: v[0] for k, v in self.stacked([step]).items()}


def process_shard_ids(num_shards: int, process_index: int, process_count: int) -> range:
  """The data shards one process reads: `num_shards` dealt out evenly, in order, over the processes."""
  if num_shards % process_count:
    raise UserError(f'config.data_shards={num_shards} does not split evenly over {process_count} processes; '
                    f'set it to a multiple of {process_count} (or 0: one shard per process).')
  per_process = num_shards // process_count
  return range(process_index * per_process, (process_index + 1) * per_process)


def in_memory_shards(arrays: Batch, num_shards: int, shard_ids: Sequence[int]) -> list[Batch]:
  """Shards `shard_ids` of `num_shards` equal, contiguous ones of in-memory arrays (the remainder dropped)."""
  size = num_examples(arrays) // num_shards
  return [{k: v[i * size:(i + 1) * size] for k, v in arrays.items()} for i in shard_ids]


def stacked(batches: Sequence[Batch]) -> Batch:
  """Batches of equal shapes as one batch with a new leading axis."""
  return {k: np.stack([batch[k] for batch in batches]) for k in batches[0]}


def padded_batches(arrays: Batch, batch_size: int) -> list[Batch]:
  """Every example exactly once, in order; the last batch is padded, with `mask` False on padding."""
  total = num_examples(arrays)
  batches = []
  for start in range(0, total, batch_size):
    size = min(batch_size, total - start)
    batch = {k: v[start:start + size] for k, v in arrays.items()}
    batch['mask'] = np.ones(size, bool)
    if size < batch_size:
      batch = {k: np.concatenate([v, np.zeros((batch_size - size,) + v.shape[1:], v.dtype)])
               for k, v in batch.items()}
    batches.append(batch)
  return batches


def process_rows(batch: Batch, process_index: int, process_count: int) -> Batch:
  """One process's contiguous rows of a global batch."""
  size = num_examples(batch) // process_count
  return {k: v[process_index * size:(process_index + 1) * size] for k, v in batch.items()}


def prefetch(fetch: Callable[[int], T], steps: Sequence[int]) -> Iterator[T]:
  """`fetch(step)` for each step in order, the next one prepared in a background thread meanwhile."""
  if not steps:
    return
  with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
    pending = pool.submit(fetch, steps[0])
    for next_step in steps[1:]:
      ready = pending.result()
      pending = pool.submit(fetch, next_step)
      yield ready
    yield pending.result()


class StagedBatches:
  """Training batches of several splits in turn: stage `i` runs `num_steps[i]` steps of `stages[i]`."""

  def __init__(self, stages: Sequence[ShuffledBatches], num_steps: Sequence[int]):
    self.stages = list(stages)
    self.starts = np.cumsum([0, *num_steps])
    self.steps_per_epoch = self.stages[0].steps_per_epoch

  def stage_of(self, step: int) -> int:
    return min(int(np.searchsorted(self.starts, step, side='right')) - 1, len(self.stages) - 1)

  def __call__(self, step: int) -> Batch:
    stage = self.stage_of(step)
    return self.stages[stage](step - int(self.starts[stage]))

  def stacked(self, steps: Sequence[int]) -> Batch:
    stage = self.stage_of(steps[0])
    if self.stage_of(steps[-1]) != stage:  # Batches of two stages, in the one transfer that spans them.
      return stacked([self(step) for step in steps])
    return self.stages[stage].stacked([step - int(self.starts[stage]) for step in steps])


def padded_to(sequences: Sequence[np.ndarray], length: int) -> np.ndarray:
  """Token sequences as one `(N, length)` int32 array, zero-padded at the end."""
  tokens = np.zeros((len(sequences), length), np.int32)
  for row, sequence in enumerate(sequences):
    tokens[row, :len(sequence)] = sequence
  return tokens


def round_up(length: int, multiple: int) -> int:
  return -(-length // multiple) * multiple


def text_batch(sequences: Sequence[np.ndarray], labels: np.ndarray, pad_multiple: int) -> Batch:
  """Tokens padded to the longest sequence (rounded up to `pad_multiple`, bounding compiled shapes), lengths, labels."""
  lengths = np.array([len(s) for s in sequences], np.int32)
  return {'tokens': padded_to(sequences, round_up(max(lengths.max(), 1), pad_multiple)),
          'length': lengths, 'label': labels}


class BucketedBatches:
  """Training batches of variable-length sequences, each drawn from one length bucket: little padding.

  Bucket `b` holds the sequences of lengths in `(boundaries[b-1], boundaries[b]]`. Epoch `e`
  permutes each bucket and the order of all batches by `(seed, e)`; a bucket's remainder that fills
  no batch waits for the next epoch's permutation. Each process takes its own rows of every batch.
  """

  def __init__(self, sequences: Sequence[np.ndarray], labels: np.ndarray, batch_size: int,
               boundaries: Sequence[int], pad_multiple: int, seed: int,
               process_index: int = 0, process_count: int = 1):
    self.sequences, self.labels = sequences, labels
    self.batch_size, self.pad_multiple, self.seed = batch_size, pad_multiple, seed
    lengths = np.array([len(s) for s in sequences])
    which = np.searchsorted(np.asarray(boundaries), lengths)
    self.buckets = [np.flatnonzero(which == b) for b in range(len(boundaries) + 1)]
    self.steps_per_epoch = sum(len(b) // batch_size for b in self.buckets)
    self._local = slice(process_index * batch_size // process_count,
                        (process_index + 1) * batch_size // process_count)
    self._epoch, self._batches = -1, []
    if self.steps_per_epoch == 0:
      raise UserError(f'batch_size={batch_size} exceeds every length bucket of the {len(sequences)} '
                      'training sequences; lower --config.batch_size or widen the buckets.')

  def _epoch_batches(self, epoch: int) -> list[np.ndarray]:
    if epoch != self._epoch:
      rng = np.random.default_rng([self.seed, epoch])
      batches = []
      for bucket in self.buckets:
        order = rng.permutation(bucket)
        batches += [order[i:i + self.batch_size] for i in range(0, len(order) - self.batch_size + 1, self.batch_size)]
      self._epoch, self._batches = epoch, [batches[i] for i in rng.permutation(len(batches))]
    return self._batches

  def __call__(self, step: int) -> Batch:
    epoch, index = divmod(step, self.steps_per_epoch)
    rows = self._epoch_batches(epoch)[index][self._local]
    return text_batch([self.sequences[i] for i in rows], self.labels[rows], self.pad_multiple)

  def stacked(self, steps: Sequence[int]) -> Batch:
    return stacked([self(step) for step in steps])


def length_sorted_batches(sequences: Sequence[np.ndarray], labels: np.ndarray, batch_size: int,
                          pad_multiple: int) -> list[Batch]:
  """Every sequence exactly once, sorted by length so that batches pad little; the last batch masked."""
  order = np.argsort([len(s) for s in sequences], kind='stable')
  batches = []
  for start in range(0, len(order), batch_size):
    rows = order[start:start + batch_size]
    batch = text_batch([sequences[i] for i in rows], labels[rows], pad_multiple)
    batch['mask'] = np.ones(len(rows), bool)
    if len(rows) < batch_size:
      batch = {k: np.concatenate([v, np.zeros((batch_size - len(rows),) + v.shape[1:], v.dtype)])
               for k, v in batch.items()}
    batches.append(batch)
  return batches
