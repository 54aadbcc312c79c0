"""The device mesh and how arrays are laid out on it: batches split, state replicated."""

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from deeplearn.core.errors import UserError

DATA_AXIS = 'data'


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
