"""A run's scalar history, read back from the TensorBoard event files its metric writer wrote."""

from collections.abc import Mapping, Sequence

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util

from deeplearn.core import storage

History = Mapping[str, Sequence[tuple[int, float]]]


def read_scalars(workdir: str) -> dict[str, list[tuple[int, float]]]:
  """Every scalar tag of `workdir`'s event files -> its `(step, value)`s in step order.

  A step written twice (a resumed run repeats the evaluation it stopped at) keeps its last value.
  """
  with storage.local_event_files(workdir) as logdir:
    accumulator = event_accumulator.EventAccumulator(logdir, size_guidance={event_accumulator.TENSORS: 0})
    accumulator.Reload()
  history = {}
  for tag in accumulator.Tags()['tensors']:
    values = {}
    for event in accumulator.Tensors(tag):
      value = tensor_util.make_ndarray(event.tensor_proto)
      if value.ndim == 0 and value.dtype.kind == 'f':
        values[event.step] = float(value)
    if values:
      history[tag] = sorted(values.items())
  return history
