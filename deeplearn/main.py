"""Trains and evaluates the task a config file chooses.

  python -m deeplearn.main --config=configs/mnist.py --workdir=runs/mnist [--config.FIELD=VALUE ...]
"""

import os
import sys

import jax
from absl import app, flags, logging

from deeplearn.core import config as config_lib, distributed, parallel, storage, workdir, xla_cpu
from deeplearn.core.errors import UserError
from deeplearn.core.flags import CONFIG, WORKDIR


def parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, with a config file that does not load or an override that names no field as one error."""
  try:
    rest = flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(f'error: {e}')
  except AttributeError as e:  # How config_flags reports `--config.FIELD` for a FIELD the config lacks.
    detail = ' '.join(str(e).replace("\\n", ' ').replace("\\'", '').strip("'").split())
    sys.exit(f'error: an override names a config field that does not exist: {detail}')
  except Exception as e:  # pylint: disable=broad-except  # The config file itself failed to load.
    sys.exit(f'error: the --config file could not be loaded: {type(e).__name__}: {" ".join(str(e).split())[:300]}')
  path = flags.FLAGS['config'].config_filename
  if path is not None and not os.path.isfile(path):
    sys.exit(f'error: --config={path} is not a file; name a config file such as configs/mnist.py.')
  if path is not None:
    try:
      CONFIG.value.task  # pylint: disable=pointless-statement  # A config file that failed to load raises here.
    except Exception as e:  # pylint: disable=broad-except
      sys.exit(f'error: --config={path} could not be loaded: {" ".join(str(e).split())[-300:]}')
  return rest


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  try:  # Bad input fails here, before anything is printed, started or loaded.
    config_lib.validate(CONFIG.value)
    workdir.check_continues(CONFIG.value, WORKDIR.value)
    xla_cpu.use_convolutions(CONFIG.value.cpu_convolutions)  # Before JAX starts its backend.
  except UserError as e:
    sys.exit(f'error: {e}')
  # Loaded once the flags are known to be good: TensorFlow takes seconds to import.
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  from deeplearn.core import train  # pylint: disable=import-outside-toplevel

  tf.config.set_visible_devices([], 'GPU')  # TF only reads data; keep accelerators for JAX.
  try:
    parallel.use_cpu_devices(CONFIG.value.cpu_devices)
    distributed.initialize()
    with storage.process_log(WORKDIR.value, jax.process_index()):
      logging.info('JAX devices: %s', jax.devices())
      train.train_and_evaluate(CONFIG.value, WORKDIR.value)
  except UserError as e:
    sys.exit(f'error: {e}')
  except jax.errors.JaxRuntimeError as e:
    if jax.process_count() == 1:
      raise
    message = (f'error: process {jax.process_index()} lost the other processes of the run ({str(e).splitlines()[0]}); '
               'another process most likely died. Rerun every process with the same command to resume from '
               'the last checkpoint.')
    logging.error('%s', message)
    print(message, file=sys.stderr, flush=True)
    os._exit(1)  # jax.distributed's shutdown barrier would wait on the dead process.


if __name__ == '__main__':
  flags.adopt_module_key_flags(sys.modules['deeplearn.core.flags'])
  flags.mark_flags_as_required(['config', 'workdir'])
  app.run(main, flags_parser=parse_flags)
