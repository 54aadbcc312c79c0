import numpy as np
import pytest

from deeplearn.core import input_pipeline, parallel
from deeplearn.core.errors import UserError


def _split(n):
  return {'x': np.arange(n), 'y': np.arange(n) * 10}


def test_each_epoch_visits_every_example_once_in_a_new_order():
  batches = input_pipeline.ShuffledBatches([_split(12)], batch_size=4, seed=0)
  epochs = [np.concatenate([batches(e * 3 + i)['x'] for i in range(3)]) for e in range(2)]
  for epoch in epochs:
    assert sorted(epoch) == list(range(12))
  assert not np.array_equal(epochs[0], epochs[1])


def test_batch_depends_only_on_step_and_seed():
  first = input_pipeline.ShuffledBatches([_split(10)], batch_size=3, seed=1)
  second = input_pipeline.ShuffledBatches([_split(10)], batch_size=3, seed=1)
  for step in (7, 2, 5):  # Out of order, across epochs.
    np.testing.assert_array_equal(first(step)['x'], second(step)['x'])
  np.testing.assert_array_equal(first(4)['y'], first(4)['x'] * 10)


def test_processes_holding_their_own_shards_make_the_global_batch_of_one_process():
  shards = input_pipeline.in_memory_shards(_split(17), 4, range(4))
  assert [len(s['x']) for s in shards] == [4] * 4  # Equal shards; the remainder is dropped.
  whole = input_pipeline.ShuffledBatches(shards, batch_size=8, seed=0, shard_ids=range(4), num_shards=4)
  processes = []
  for process in range(2):
    ids = input_pipeline.process_shard_ids(4, process, 2)
    processes.append(input_pipeline.ShuffledBatches([shards[i] for i in ids], 8, 0, ids, num_shards=4))
  for step in (0, 1, 5):
    np.testing.assert_array_equal(np.concatenate([p(step)['x'] for p in processes]), whole(step)['x'])
  with pytest.raises(UserError, match='data_shards=4 does not split evenly over 3 processes'):
    input_pipeline.process_shard_ids(4, 0, 3)


def test_a_batch_takes_each_shards_rows_in_its_epoch_permutation():
  shards = input_pipeline.in_memory_shards(_split(16), 2, range(2))
  batches = input_pipeline.ShuffledBatches(shards, batch_size=4, seed=3, shard_ids=range(2), num_shards=2)
  epoch, index = divmod(5, batches.steps_per_epoch)  # 4 steps an epoch: step 5 is epoch 1's second batch.
  expected = [shard['x'][np.random.default_rng([3, epoch, i]).permutation(8)][index * 2:(index + 1) * 2]
              for i, shard in enumerate(shards)]
  np.testing.assert_array_equal(batches(5)['x'], np.concatenate(expected))


def _batches_of_each_kind():
  shards = input_pipeline.in_memory_shards(_split(24), 2, range(2))
  two_shards = input_pipeline.ShuffledBatches(shards, batch_size=4, seed=0, shard_ids=range(2), num_shards=2)
  one_shard = input_pipeline.ShuffledBatches([_split(10)], batch_size=3, seed=1)
  staged = input_pipeline.StagedBatches([one_shard, input_pipeline.ShuffledBatches([_split(9)], 3, 2)], [4, 6])
  sequences = [np.arange(n) for n in (3, 5, 4, 9, 8, 2, 7, 6)]
  bucketed = input_pipeline.BucketedBatches(sequences, np.arange(8), 2, boundaries=[10], pad_multiple=12, seed=0)
  return {'two shards': two_shards, 'one shard': one_shard, 'staged': staged, 'bucketed': bucketed}


@pytest.mark.parametrize('kind', ['two shards', 'one shard', 'staged', 'bucketed'])
@pytest.mark.parametrize('steps', [range(0, 2), range(2, 6), range(3, 8)])  # Within an epoch or stage, across them.
def test_stacked_steps_are_the_steps_batches_one_above_the_other(kind, steps):
  batches = _batches_of_each_kind()[kind]
  chunk = batches.stacked(steps)
  fresh = _batches_of_each_kind()[kind]  # Fetched in another order, from other cached epochs.
  for i, step in reversed(list(enumerate(steps))):
    for key, value in fresh(step).items():
      np.testing.assert_array_equal(chunk[key][i], value)


def test_a_stacked_chunk_becomes_a_device_array_without_a_copy():
  batches = input_pipeline.ShuffledBatches([{'x': np.random.rand(100, 5, 7).astype(np.float32)}], 8, seed=0)
  chunk = batches.stacked(range(4))
  on_device = parallel.to_global(chunk, parallel.make_mesh(), batch_axis=1)['x']
  assert on_device.addressable_shards[0].data.unsafe_buffer_pointer() == chunk['x'].ctypes.data


def test_padded_batches_cover_the_split_exactly_once():
  batches = list(input_pipeline.padded_batches(_split(10), batch_size=4))
  assert [len(b['x']) for b in batches] == [4, 4, 4]
  seen = np.concatenate([b['x'][b['mask']] for b in batches])
  np.testing.assert_array_equal(seen, np.arange(10))
  assert batches[-1]['mask'].tolist() == [True, True, False, False]


def test_prefetch_yields_each_step_in_order_and_raises_where_fetch_fails():
  assert list(input_pipeline.prefetch(lambda step: step * 10, range(3, 7))) == [30, 40, 50, 60]
  assert not list(input_pipeline.prefetch(lambda step: step, range(0)))

  def fetch(step):
    if step == 2:
      raise KeyError(step)
    return step
  got = []
  try:
    for value in input_pipeline.prefetch(fetch, range(5)):
      got.append(value)
  except KeyError:
    pass
  assert got == [0, 1]
