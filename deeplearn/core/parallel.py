"""The device mesh, how arrays are laid out on it (batches split, state replicated) and how far the host runs ahead."""

import collections
import os
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from deeplearn.core.errors import UserError

DATA_AXIS = 'data'
_FORCED_DEVICE_COUNT = '--xla_force_host_platform_device_count'


def use_cpu_devices(count: int) -> None:
  """Splits the host CPU into `count` JAX devices (0: JAX's default), before JAX starts a backend.

  On a machine of few cores a data-parallel step over several CPU devices was faster for some models and
  slower for others (measured per config in docs/results.md). A device count forced in `XLA_FLAGS` wins;
  accelerators are unaffected.
  """
  if count and _FORCED_DEVICE_COUNT not in os.environ.get('XLA_FLAGS', ''):
    jax.config.update('jax_num_cpu_devices', count)


def make_mesh() -> Mesh:
  """A 1-D mesh over every device of every process, along the batch axis."""
  return Mesh(np.asarray(jax.devices()), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharded(mesh: Mesh, batch_axis: int = 0) -> NamedSharding:
  """Axis `batch_axis` (the batch) split across the mesh."""
  return NamedSharding(mesh, PartitionSpec(*[None] * batch_axis, DATA_AXIS))


def check_batch_size(batch_size: int, mesh: Mesh, field: str) -> None:
  """Raises a clear error when a global batch cannot be split evenly over the devices."""
  if batch_size % mesh.size:
    raise UserError(
        f'config.{field}={batch_size} does not split evenly over {mesh.size} devices; '
        f'set --config.{field} to a multiple of {mesh.size}.')


def to_global(batch, mesh: Mesh, batch_axis: int = 0):
  """Puts a host batch (this process's rows) on the mesh as one global, batch-sharded array tree."""
  sharding = batch_sharded(mesh, batch_axis)
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, x), batch)


class DispatchWindow:
  """Keeps the host at most `steps` steps ahead of the devices: each `add` waits for the outputs `steps` adds back.

  XLA:CPU runs a program on each device as a task that holds a thread of a pool as large as the device count
  (each waits in the collectives for the others), and a launch that finds its device's limit of pending programs
  reached waits, holding a thread of that same pool. A loop that syncs only to log dispatches hundreds of steps
  ahead: the waiting launches take the threads a step's all-reduce needs, and it never completes (eight virtual
  devices on two cores: XLA aborts after 40 s). A few steps ahead keep any backend busy.
  """

  def __init__(self, steps: int = 4):
    self._steps = steps
    self._pending: collections.deque = collections.deque()

  def add(self, outputs: Any) -> None:
    """Registers a dispatched step's outputs (arrays no later step donates); waits when the window is full."""
    self._pending.append(outputs)
    if len(self._pending) > self._steps:
      jax.block_until_ready(self._pending.popleft())
