"""Train on a machine without TensorFlow: splits exported here as arrays, a run there read from them.

An accelerator image that cannot install TensorFlow and TFDS (no network, a wheel too large to carry)
can still train the real data: `export` writes the splits a run reads (through `datasets.load_split`,
so the arrays are exactly what training sees) as one `.npz` per split; `train` stubs TensorFlow and
TFDS as `launch/synthetic_bench.py` does, serves `datasets.load_split` from those files, and runs
`deeplearn.main` unchanged. One process only (TFDS's shard splitting is stubbed). Scalars go to
TensorBoard event files through TensorBoard's own TensorFlow-free writer (images only to the run's
image files).

  python3 launch/offline_arrays.py export --dataset=mnist --splits=train,test --data_dir=data/tfds --out=ARRAYS
  python3 launch/offline_arrays.py train ARRAYS --config=configs/dcgan.py --workdir=runs/dcgan [--config.X=...]
"""

import argparse
import os
import runpy
import sys
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic_bench  # pylint: disable=wrong-import-position


def file_name(dataset: str, split: str) -> str:
  return f'{dataset}.{split.replace("/", "_")}.npz'


def export(dataset: str, splits: list[str], data_dir: str, manual_dir: str, out: str, image_size: int = 0) -> None:
  """Each split of `dataset`, as `datasets.load_split` gives it, to `out`/`file_name(dataset, split)`."""
  from deeplearn.data import datasets  # pylint: disable=import-outside-toplevel
  os.makedirs(out, exist_ok=True)
  for split in splits:
    arrays = datasets.load_split(dataset, split, data_dir=data_dir, manual_dir=manual_dir, image_size=image_size)
    np.savez_compressed(os.path.join(out, file_name(dataset, split)), **arrays)
    print(f'{dataset} {split}: {len(next(iter(arrays.values())))} examples')


def event_writer(logdir: str) -> Any:
  """A clu metric writer of scalars to TensorBoard event files, for where TensorFlow is missing."""
  # pylint: disable=import-outside-toplevel
  from clu import metric_writers
  from tensorboard.compat.proto import event_pb2, summary_pb2
  from tensorboard.summary.writer.event_file_writer import EventFileWriter
  from tensorboard.util import tensor_util

  scalar_metadata = summary_pb2.SummaryMetadata(
      plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name='scalars'))

  class EventWriter(metric_writers.MetricWriter):
    """Writes scalars; every other kind of summary is left to the console log and the run's files."""

    def __init__(self):
      self._writer = EventFileWriter(logdir)

    def write_scalars(self, step: int, scalars: Mapping[str, Any]) -> None:
      values = [summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(float(value)),
                                          metadata=scalar_metadata) for tag, value in scalars.items()]
      self._writer.add_event(event_pb2.Event(step=step, wall_time=time.time(),
                                             summary=summary_pb2.Summary(value=values)))

    def write_summaries(self, step, values, metadata=None): del step, values, metadata
    def write_images(self, step, images): del step, images
    def write_videos(self, step, videos): del step, videos
    def write_audios(self, step, audios, *, sample_rate): del step, audios, sample_rate
    def write_texts(self, step, texts): del step, texts
    def write_histograms(self, step, arrays, num_buckets=None): del step, arrays, num_buckets
    def write_hparams(self, hparams): del hparams

    def flush(self) -> None:
      self._writer.flush()

    def close(self) -> None:
      self._writer.close()

  return EventWriter()


def train(arrays_dir: str, main_argv: list[str]) -> None:
  """`python -m deeplearn.main` with `main_argv`, every split read from `arrays_dir`."""
  synthetic_bench.install_stubs()
  # pylint: disable=import-outside-toplevel
  from deeplearn.core import writers
  from deeplearn.data import datasets

  def load_split(name: str, split, **unused) -> dict[str, np.ndarray]:
    path = os.path.join(arrays_dir, file_name(name, split))
    if not os.path.exists(path):
      sys.exit(f'error: {path} is missing; export {name} {split!r} with `launch/offline_arrays.py export`.')
    with np.load(path, allow_pickle=True) as arrays:
      return dict(arrays)

  def whole_split(split: str, num_shards: int, **unused) -> list[str]:
    """TFDS's `even_splits` for the one shard a single process reads."""
    if num_shards != 1:
      sys.exit(f'error: offline arrays serve one process, not {num_shards} data shards.')
    return [split]

  datasets.load_split = load_split
  writers.summary_writer = event_writer
  sys.modules['tensorflow_datasets'].even_splits = whole_split
  sys.argv = ['deeplearn.main', *main_argv]
  runpy.run_module('deeplearn.main', run_name='__main__', alter_sys=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  commands = parser.add_subparsers(dest='command', required=True)
  export_args = commands.add_parser('export', help='write splits of a TFDS dataset as .npz files (needs TFDS)')
  export_args.add_argument('--dataset', required=True)
  export_args.add_argument('--splits', required=True, help='comma-separated split names, as a config names them')
  export_args.add_argument('--out', required=True, help='the folder of the .npz files')
  export_args.add_argument('--data_dir', default='')
  export_args.add_argument('--manual_dir', default='')
  export_args.add_argument('--image_size', type=int, default=0)
  train_args = commands.add_parser('train', help='python -m deeplearn.main on exported splits (no TFDS needed)')
  train_args.add_argument('arrays', help='the folder `export` wrote')
  train_args.add_argument('main_flags', nargs=argparse.REMAINDER, help='deeplearn.main\'s flags')
  return parser.parse_args(argv)


def main(argv: list[str]) -> None:
  args = parse_args(argv)
  if args.command == 'train':
    train(args.arrays, args.main_flags)
  else:
    export(args.dataset, args.splits.split(','), args.data_dir, args.manual_dir, args.out, args.image_size)


if __name__ == '__main__':
  main(sys.argv[1:])
