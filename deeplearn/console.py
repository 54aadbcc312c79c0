"""A quiet console: TensorFlow's C++ start-up notices never reach the user's terminal."""

import os
import sys
import tempfile


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
