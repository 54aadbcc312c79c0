"""TensorBoard's writer for a run's logdir, a local folder or a `gs://` bucket (clu's writer imports TensorFlow)."""

import shutil
import tempfile

from clu import metric_writers
from etils import epath

from deeplearn.core import storage


class SummaryWriter(metric_writers.SummaryWriter):
  """clu's TensorBoard writer into a local folder whose event files are copied to `logdir` at each flush.

  TensorFlow writes a bucket's files the same way (a local file uploaded whole at each flush), but
  through its own file system; this way the upload goes through epath like every other file.
  """

  def __init__(self, logdir: str):
    self._staging = tempfile.mkdtemp(prefix='deeplearn-events-')
    self._logdir = storage.path(logdir)
    super().__init__(self._staging)

  def _copy_event_files(self) -> None:
    self._logdir.mkdir(parents=True, exist_ok=True)
    for file in epath.Path(self._staging).glob(storage.EVENT_FILES):
      file.copy(self._logdir / file.name, overwrite=True)

  def flush(self) -> None:
    super().flush()
    self._copy_event_files()

  def close(self) -> None:
    super().close()
    self._copy_event_files()
    shutil.rmtree(self._staging, ignore_errors=True)


def summary_writer(logdir: str) -> metric_writers.MetricWriter:
  """TensorBoard's writer for `logdir`: TensorFlow's own for a local folder, else one that copies."""
  return SummaryWriter(logdir) if storage.is_remote(logdir) else metric_writers.SummaryWriter(logdir)
