"""Saving and restoring the training state with orbax, falling back past unreadable checkpoints."""

import time
from typing import Any, TypeVar

import jax
import orbax.checkpoint as ocp
from absl import logging
from etils import epath

from deeplearn.core import storage
from deeplearn.core.errors import UserError

T = TypeVar('T')


def _directory(workdir: str) -> epath.Path:
  return storage.path(workdir) / 'checkpoints'


def create_manager(workdir: str, max_to_keep: int) -> ocp.CheckpointManager:
  return ocp.CheckpointManager(
      _directory(workdir),
      options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
      item_handlers=ocp.StandardCheckpointHandler())


def abstract_like(tree: T) -> T:
  """Shapes, dtypes and the *current* shardings of `tree`, so a checkpoint restores onto this device layout."""
  return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), tree)


def _set_aside(manager: ocp.CheckpointManager, step: int) -> str:
  """Renames an unreadable checkpoint out of orbax's way, keeping its files for inspection."""
  path = storage.path(manager.directory) / str(step)
  aside = path.with_name(f'{step}.unreadable-{int(time.time())}')
  if jax.process_index() == 0:
    path.rename(aside)
  manager.reload()
  return str(aside)


def _shapes(tree: Any) -> list[tuple[tuple[int, ...], str]]:
  """The (shape, dtype) of every array in `tree`, sorted: comparable whatever the containers' types."""
  return sorted((tuple(x.shape), str(x.dtype)) for x in jax.tree.leaves(tree))


def check_matches(manager: ocp.CheckpointManager, step: int, target: Any) -> None:
  """A `UserError` if the checkpoint at `step` holds arrays other than `target`'s: another model or optimiser.

  Reading the checkpoint's metadata may fail on a corrupt checkpoint; that error propagates.
  """
  saved, wanted = _shapes(manager.item_metadata(step)), _shapes(target)
  if saved != wanted:
    difference = next(((a, b) for a, b in zip(saved, wanted) if a != b), (len(saved), len(wanted)))
    raise UserError(f'The checkpoint at step {step} in {manager.directory} holds another state than this config '
                    f'makes (first difference: {difference[0]} saved, {difference[1]} now); it is kept as it is. '
                    'Train this config in a new --workdir.')


def restore_latest(manager: ocp.CheckpointManager, target: T) -> tuple[T, int | None]:
  """The newest readable checkpoint restored onto `target`'s layout, and its step; `target` itself when none exist.

  An unreadable newest checkpoint (corrupt, half-written) is warned about, set aside and the one
  before is tried; if none can be read, the run stops rather than overwrite them. A readable
  checkpoint of another state (another model, another optimiser) is an error and stays untouched.
  """
  steps = sorted(manager.all_steps(), reverse=True)
  for step in steps:
    try:
      check_matches(manager, step, target)
      restored = manager.restore(step, args=ocp.args.StandardRestore(abstract_like(target)))
    except UserError:
      raise
    except Exception as e:  # pylint: disable=broad-except
      aside = _set_aside(manager, step)
      logging.warning('Checkpoint at step %d is unreadable (%s: %s); moved it to %s and trying the one before.',
                      step, type(e).__name__, str(e)[:300], aside)
      continue
    return restored, step
  if steps:
    raise UserError(
        f'None of the checkpoints in {manager.directory} (steps {steps}) could be read; they were '
        'set aside. Start again with a new --workdir, or repair them.')
  return target, None


def save(manager: ocp.CheckpointManager, step: int, tree: Any) -> None:
  manager.save(step, args=ocp.args.StandardSave(tree), force=True)


def saved_steps(workdir: str) -> list[int]:
  """The steps of the checkpoints a run kept, oldest first."""
  directory = _directory(workdir)
  steps = sorted(ocp.utils.checkpoint_steps(directory)) if directory.is_dir() else []
  if not steps:
    raise UserError(f'{directory} holds no checkpoint; train first with '
                    f'`python -m deeplearn.main --workdir={workdir} ...`, or name another workdir.')
  return steps


def restore_as_saved(workdir: str, step: int) -> dict[str, Any]:
  """A run's checkpoint at `step`, as the nested dicts of arrays it was saved as."""
  with ocp.CheckpointManager(_directory(workdir)) as manager:
    here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])  # For devices other than those that wrote it.
    return manager.restore(step, args=ocp.args.StandardRestore(fallback_sharding=here))


def restore_latest_as_saved(workdir: str) -> tuple[dict[str, Any], int]:
  """The newest checkpoint of a run, as the nested dicts of arrays it was saved as, and its step."""
  step = saved_steps(workdir)[-1]
  return restore_as_saved(workdir, step), step
