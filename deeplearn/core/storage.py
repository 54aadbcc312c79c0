"""A run's files, in a local folder or a `gs://` bucket alike, through `etils.epath`.

epath reaches buckets through gcsfs (set up in `deeplearn/__init__.py`), as orbax's metadata does (orbax's
arrays go through TensorStore), so every file of a run honours a GCS emulator (`STORAGE_EMULATOR_HOST`,
`TENSORSTORE_GCS_HTTP_URL`).
TensorFlow's own file system, which knows no emulator, is left to TFDS's reading of prepared datasets
and to TensorBoard's event files, which reach a bucket as copies (`writers.SummaryWriter`, `local_event_files`).
Nothing here imports TensorFlow (seconds of start-up), so a command that only reads a run's files need not load it.
"""

import contextlib
import logging as std_logging
import os
import tempfile
import threading
from collections.abc import Iterator

from absl import logging as absl_logging
from etils import epath

EVENT_FILES = 'events.out.tfevents.*'  # TensorBoard's event files in a logdir.


def path(name: str | os.PathLike) -> epath.Path:
  """`name` as a path: `gs://bucket/...` or a local one, made absolute (orbax requires it)."""
  return epath.Path(name) if is_remote(name) else epath.Path(name).absolute()


def is_remote(name: str | os.PathLike) -> bool:
  return '://' in os.fspath(name)


@contextlib.contextmanager
def local_event_files(logdir: str) -> Iterator[str]:
  """A local folder holding `logdir`'s TensorBoard event files: `logdir` itself, or a copy of a bucket's."""
  if not is_remote(logdir):
    yield logdir
    return
  with tempfile.TemporaryDirectory(prefix='deeplearn-events-') as local:
    for file in path(logdir).glob(EVENT_FILES):
      file.copy(epath.Path(local) / file.name)
    yield local


class LogFile(std_logging.Handler):
  """Every log line of this process, kept in `path` beside the run, after the lines of the runs before.

  The file is rewritten whole every `flush_seconds` and at `close` (a bucket's objects do not append),
  so a process killed outright loses at most that many seconds of lines.
  """

  def __init__(self, path: str, flush_seconds: float = 60.0):
    super().__init__()
    self._path = epath.Path(path)
    self._earlier = self._path.read_text() if self._path.exists() else ''
    self._lines: list[str] = []
    self.setFormatter(absl_logging.PythonFormatter())
    self._closing = threading.Event()
    threading.Thread(target=self._flush_every, args=(flush_seconds,), daemon=True).start()

  def emit(self, record: std_logging.LogRecord) -> None:
    self._lines.append(self.format(record))

  def flush(self) -> None:
    with self.lock:
      text = self._earlier + ''.join(f'{line}\n' for line in self._lines)
    self._path.parent.mkdir(parents=True, exist_ok=True)
    self._path.write_text(text)

  def _flush_every(self, seconds: float) -> None:
    while not self._closing.wait(seconds):
      self.flush()

  def close(self) -> None:
    self._closing.set()
    self.flush()
    super().close()


@contextlib.contextmanager
def process_log(workdir: str, process_index: int) -> Iterator[None]:
  """Inside it, this process's log lines also go to `workdir/logs/process_INDEX.log`."""
  log = LogFile(os.fspath(path(workdir) / 'logs' / f'process_{process_index}.log'))
  std_logging.getLogger().addHandler(log)
  try:
    yield
  finally:
    std_logging.getLogger().removeHandler(log)
    log.close()
