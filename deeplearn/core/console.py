"""A quiet console: TensorFlow's C++ start-up notices never reach the user's terminal."""

import logging as std_logging
import os
import sys
import tempfile

from absl import logging as absl_logging


def import_tensorflow_quietly() -> None:
  """Imports TensorFlow with the process's stderr (fd 2) set aside, so its C++ notices are not printed.

  TensorFlow's native libraries write notices (absl's `InitializeLog` warning, oneDNN's) straight to
  fd 2 on import on some CPUs, whatever `TF_CPP_MIN_LOG_LEVEL` says. Should the import fail, what it
  wrote is shown after all.
  """
  if 'tensorflow' in sys.modules:
    return
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  sys.stderr.flush()
  saved_stderr = os.dup(2)
  with tempfile.TemporaryFile() as captured:
    os.dup2(captured.fileno(), 2)
    try:
      import tensorflow  # pylint: disable=import-outside-toplevel,unused-import
    except BaseException:
      os.dup2(saved_stderr, 2)
      captured.seek(0)
      sys.stderr.write(captured.read().decode(errors='replace'))
      raise
    finally:
      os.dup2(saved_stderr, 2)
      os.close(saved_stderr)


def quiet_backend_probe() -> None:
  """Hides JAX's INFO line about each backend it could not start (libtpu on a machine without TPUs)."""
  std_logging.getLogger('jax._src.xla_bridge').setLevel(std_logging.WARNING)


_CHATTY_LIBRARIES = ('/orbax/', '/tensorflow_datasets/', '/tensorboard/')


def _not_library_info(record: std_logging.LogRecord) -> bool:
  return record.levelno >= std_logging.WARNING or not any(part in record.pathname for part in _CHATTY_LIBRARIES)


def quiet_library_info() -> None:
  """Drops the INFO lines of orbax, TFDS and TensorBoard (each save, each split read); their warnings still show."""
  absl_logging.get_absl_handler().addFilter(_not_library_info)
