"""A quiet console: TensorFlow's C++ start-up notices never reach the user's terminal."""

import importlib.abc
import importlib.machinery
import importlib.util
import logging as std_logging
import os
import sys
import tempfile
import types
from collections.abc import Callable
from typing import Any

from absl import logging as absl_logging


def _quietly(exec_module: Callable[[types.ModuleType], None]) -> Callable[[types.ModuleType], None]:
  """`exec_module` with the process's stderr (fd 2) set aside; should it fail, what it wrote is shown after all."""

  def quiet_exec_module(module: types.ModuleType) -> None:
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    with tempfile.TemporaryFile() as captured:
      os.dup2(captured.fileno(), 2)
      try:
        exec_module(module)
      except BaseException:
        os.dup2(saved_stderr, 2)
        captured.seek(0)
        sys.stderr.write(captured.read().decode(errors='replace'))
        raise
      finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
  return quiet_exec_module


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
  """Finds `tensorflow` as Python would, and has it imported quietly (`_quietly`); then steps aside."""

  def find_spec(self, name: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
    del path, target
    if name != 'tensorflow':
      return None
    sys.meta_path.remove(self)
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.loader is not None:
      spec.loader.exec_module = _quietly(spec.loader.exec_module)
    return spec


def quiet_tensorflow_import() -> None:
  """Makes TensorFlow's import, whichever module first asks for it, print nothing to stderr.

  TensorFlow's native libraries write notices (absl's `InitializeLog` warning, oneDNN's) straight to
  fd 2 on import on some CPUs, whatever `TF_CPP_MIN_LOG_LEVEL` says. Deferred to the first import (not
  done here) so that a command with a bad flag fails in a second, before TensorFlow loads.
  """
  if 'tensorflow' in sys.modules or any(isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path):
    return
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
  sys.meta_path.insert(0, _QuietTensorFlowFinder())


def quiet_backend_probe() -> None:
  """Hides JAX's INFO line about each backend it could not start (libtpu on a machine without TPUs)."""
  std_logging.getLogger('jax._src.xla_bridge').setLevel(std_logging.WARNING)


_CHATTY_LIBRARIES = ('/orbax/', '/tensorflow_datasets/', '/tensorboard/')


def _not_library_info(record: std_logging.LogRecord) -> bool:
  return record.levelno >= std_logging.WARNING or not any(part in record.pathname for part in _CHATTY_LIBRARIES)


def quiet_library_info() -> None:
  """Drops the INFO lines of orbax, TFDS and TensorBoard (each save, each split read); their warnings still show."""
  absl_logging.get_absl_handler().addFilter(_not_library_info)
