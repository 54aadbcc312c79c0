"""Joining JAX's distributed runtime when a run is one of several processes (TPU pods, GPU hosts, CPU gloo)."""

import os

import jax
from absl import flags, logging

from deeplearn.core.errors import UserError

_COORDINATOR = flags.DEFINE_string(
    'coordinator_address', os.environ.get('JAX_COORDINATOR_ADDRESS', ''),
    'host:port of process 0 for a multi-process run (env JAX_COORDINATOR_ADDRESS); empty: one process, '
    'unless --distributed.')
_NUM_PROCESSES = flags.DEFINE_integer(
    'num_processes', int(os.environ.get('JAX_NUM_PROCESSES', '0')), 'Processes in the run (env JAX_NUM_PROCESSES).')
_PROCESS_ID = flags.DEFINE_integer(
    'process_id', int(os.environ.get('JAX_PROCESS_ID', '-1')), "This process's index (env JAX_PROCESS_ID).")
_DISTRIBUTED = flags.DEFINE_bool(
    'distributed', False, 'Join the distributed runtime with what JAX detects itself (Cloud TPU pods, SLURM).')
_HEARTBEAT_TIMEOUT = flags.DEFINE_integer(
    'heartbeat_timeout_s', 100, 'A process unheard of this long is taken as dead and every process exits.')


def initialize() -> None:
  """`jax.distributed.initialize` from the flags or the environment; a no-op for a single-process run."""
  if not (_COORDINATOR.value or _DISTRIBUTED.value):
    return
  if _COORDINATOR.value and (_NUM_PROCESSES.value < 1 or not 0 <= _PROCESS_ID.value < _NUM_PROCESSES.value):
    raise UserError(
        f'--coordinator_address={_COORDINATOR.value} needs --num_processes >= 1 and 0 <= --process_id < '
        f'num_processes (got {_NUM_PROCESSES.value} and {_PROCESS_ID.value}).')
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')  # CPU devices of processes talk over TCP.
  jax.distributed.initialize(
      _COORDINATOR.value or None, _NUM_PROCESSES.value or None,
      _PROCESS_ID.value if _PROCESS_ID.value >= 0 else None,
      heartbeat_timeout_seconds=_HEARTBEAT_TIMEOUT.value)
  logging.info('Process %d of %d; %d local and %d global devices.', jax.process_index(), jax.process_count(),
               jax.local_device_count(), jax.device_count())
