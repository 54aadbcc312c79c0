"""The generic training loop: any task's pure steps, jitted and data-parallel, with metrics and checkpoints."""

import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jax
import ml_collections
import numpy as np
from absl import logging
from clu import metric_writers, metrics, periodic_actions
from etils import epath
from jax.sharding import Mesh

from deeplearn.core import (
    checkpoints, config as config_lib, history, images, input_pipeline, parallel, preemption, registry, storage,
    workdir as workdir_lib, writers
)
from deeplearn.core.errors import NonFiniteLossError
from deeplearn.core.input_pipeline import Batch
from deeplearn.core.task import EvalSplit, EvalStep, Task


@functools.partial(jax.jit, static_argnums=0)
def _merge(collection_type: type, total: metrics.Collection | None, new: metrics.Collection) -> metrics.Collection:
  """`collection_type` keys the compiled versions: JAX's tree structures equate two flax dataclasses with the same fields' shapes."""
  del collection_type
  return new if total is None else total.merge(new)


def merge_metrics(total: metrics.Collection | None, new: metrics.Collection) -> metrics.Collection:
  """Accumulates metrics on device in one dispatch."""
  return _merge(type(new), total, new)


def evaluate(eval_step: EvalStep, state: Any, split: EvalSplit, mesh: Mesh) -> dict[str, float]:
  """Metrics over a whole split, every example exactly once (padding rows are masked out)."""
  total: metrics.Collection | None = None
  window = parallel.DispatchWindow()
  for batch in split:
    rows = input_pipeline.process_rows(batch, jax.process_index(), jax.process_count())
    batch_metrics = eval_step(state, parallel.to_global(rows, mesh))
    total = merge_metrics(total, batch_metrics)
    window.add(batch_metrics)
  return {k: float(v) for k, v in total.compute().items()}


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
  return {f'{prefix}/{k}': v for k, v in values.items()}


def _check_finite(summary: Mapping[str, float], step: int, last_checkpoint: int | None, workdir: str) -> None:
  """Stops the run when any training loss (every metric named `*loss`) is NaN or infinite."""
  for name, value in summary.items():
    if name.endswith('loss') and not np.isfinite(value):
      kept = (f'the last good checkpoint (step {last_checkpoint}) is kept in {workdir}'
              if last_checkpoint is not None else 'no checkpoint had been written yet')
      raise NonFiniteLossError(
          f'The training {name.replace("_", " ")} became {value} by step {step}; training stopped and {kept}. '
          'Lower the learning rate (--config...learning_rate) or check the data.')


def _images_dir(workdir: str) -> epath.Path:
  return storage.path(workdir) / 'images'


def write_images(named_images: Mapping[str, np.ndarray], step: int, writer: metric_writers.MetricWriter,
                 workdir: str) -> None:
  """Each image to TensorBoard and, from process 0, to `workdir/images/NAME_STEP.png`."""
  writer.write_images(step, {name: image[None] for name, image in named_images.items()})
  if jax.process_index() == 0:
    for name, image in named_images.items():
      images.save_png(_images_dir(workdir) / f'{name}_{step:08d}.png', image)


def write_animations(names: Iterable[str], workdir: str) -> None:
  """`workdir/images/NAME.gif`: every PNG written under NAME, in step order (process 0)."""
  if jax.process_index() == 0:
    for name in names:
      frames = sorted(_images_dir(workdir).glob(f'{name}_*.png'))
      images.save_gif(_images_dir(workdir) / f'{name}.gif', frames)


def jit_train_step(task: Task, mesh: Mesh,
                   batches_per_transfer: int) -> Callable[[Any, Batch, jax.Array], tuple[Any, Any]]:
  """The task's train step, compiled, reading its batch from a chunk made by `train_chunk`.

  Step `s` takes `chunk[s % batches_per_transfer]` and the key `fold_in(rng, s)`, both from `state.step`,
  so no per-step value crosses from the host.
  """
  def step_from_chunk(state, chunk, rng):
    batch = jax.tree.map(lambda x: x[state.step % batches_per_transfer], chunk)
    return task.train_step(state, batch, jax.random.fold_in(rng, state.step))
  replicated = parallel.replicated(mesh)
  return jax.jit(step_from_chunk, donate_argnums=0, out_shardings=(replicated, replicated))


def train_chunk(task: Task, mesh: Mesh, index: int, batches_per_transfer: int) -> Batch:
  """The training batches of steps `[index * k, (index + 1) * k)`, stacked, on the mesh in one transfer."""
  first = index * batches_per_transfer
  return parallel.to_global(task.train_batches.stacked(range(first, first + batches_per_transfer)), mesh, batch_axis=1)


def global_train_chunks(task: Task, mesh: Mesh, steps: range, batches_per_transfer: int) -> Iterator[Batch]:
  """For each step, the on-mesh chunk holding its batch; each chunk crosses once, the next one prefetched."""
  if not steps:
    return
  k = batches_per_transfer
  indices = range(steps.start // k, (steps.stop - 1) // k + 1)
  chunks = input_pipeline.prefetch(lambda index: train_chunk(task, mesh, index, k), indices)
  for index, chunk in zip(indices, chunks):
    for _ in range(max(steps.start, index * k), min(steps.stop, (index + 1) * k)):
      yield chunk


@contextlib.contextmanager
def logged_duration(what: str) -> Iterator[None]:
  """Logs `what` when it starts and, with its duration, when it ends."""
  logging.info('%s...', what)
  start = time.perf_counter()
  yield
  logging.info('%s: done in %.1f s.', what, time.perf_counter() - start)


def first_step(train_step: Callable, state: Any, chunk: Batch, rng: jax.Array) -> tuple[Any, Any]:
  """The run's first step, compiled and timed; checks that the task's step advanced `state.step` by one."""
  before = int(state.step)
  with logged_duration(f'Compiling and running the first train step (step {before})'):
    state, step_metrics = train_step(state, chunk, rng)
    after = int(state.step)
  if after != before + 1:
    raise TypeError(f'The task\'s train_step took state.step from {before} to {after}; it must advance it by '
                    'exactly one (flax TrainState.apply_gradients does).')
  return state, step_metrics


def create_writer(config: ml_collections.ConfigDict, workdir: str) -> metric_writers.MetricWriter:
  """Metrics to the console and (process 0) to TensorBoard; the config goes to TensorBoard's hparams only."""
  if jax.process_index() > 0:
    return metric_writers.LoggingWriter()
  tensorboard = writers.summary_writer(workdir)
  tensorboard.write_hparams(config.to_dict())
  return metric_writers.AsyncMultiWriter([metric_writers.LoggingWriter(), tensorboard])


def initial_state_and_rng(task: Task, seed: jax.Array) -> dict[str, Any]:
  """The task's initial state and the raw data of the key its training steps fold their step into."""
  init_rng, train_rng = jax.random.split(jax.random.key(seed))
  return {'state': task.init_state(init_rng), 'rng': jax.random.key_data(train_rng)}


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  """Trains `config.task` in `workdir`, resuming from its latest checkpoint; returns the final eval metrics."""
  config_lib.validate(config)
  workdir_lib.check_continues(config, workdir)
  mesh = parallel.make_mesh()
  parallel.check_batch_size(config.batch_size, mesh, 'batch_size')
  parallel.check_batch_size(config.eval_batch_size, mesh, 'eval_batch_size')
  task = registry.get_task(config, workdir)

  replicated = parallel.replicated(mesh)
  manager = checkpoints.create_manager(workdir, config.max_checkpoints_to_keep)
  restored, last_checkpoint = checkpoints.restore_latest(
      manager, jax.jit(functools.partial(initial_state_and_rng, task), out_shardings=replicated)(config.seed))
  state, train_rng_data = restored['state'], restored['rng']  # The key's raw data, as checkpoints hold it.
  train_rng = jax.random.wrap_key_data(train_rng_data)
  start_step = int(state.step)
  if last_checkpoint is not None:
    logging.info('Resuming from the checkpoint at step %d.', start_step)
  else:
    logging.info('No checkpoint in %s: training from step 0.', workdir)
  workdir_lib.record_start(config, workdir, start_step)

  train_step = jit_train_step(task, mesh, config.batches_per_transfer)
  eval_step = jax.jit(task.eval_step, out_shardings=replicated) if task.eval_step else None
  writer = create_writer(config, workdir)
  report_progress = periodic_actions.ReportProgress(num_train_steps=task.num_train_steps, writer=writer)

  prepare_eval = jax.jit(task.prepare_eval) if task.prepare_eval else lambda state: state

  def evaluate_all(state: Any, step: int) -> dict[str, float]:
    summary = {}
    state = prepare_eval(state)
    splits = {**task.eval_splits, **(task.final_eval_splits if step == task.num_train_steps else {})}
    for prefix, split in splits.items():
      with logged_duration(f'Evaluating the {prefix} split at step {step}'):
        summary |= _prefixed(prefix, evaluate(eval_step, state, split, mesh))
    writer.write_scalars(step, summary)
    if task.eval_images:
      named_images = task.eval_images(state)
      write_images(named_images, step, writer, workdir)
      if step == task.num_train_steps:
        write_animations(named_images, workdir)
    if task.plot_history and step == task.num_train_steps:
      writer.flush()
      write_images(task.plot_history(history.read_scalars(workdir)), step, writer, workdir)
    return summary

  train_metrics: metrics.Collection | None = None
  eval_summary = {} if start_step < task.num_train_steps else evaluate_all(state, start_step)
  stop = preemption.StopRequests()
  window = parallel.DispatchWindow()
  try:  # Pending checkpoint writes finish even when the loop stops on an error.
    steps = range(start_step, task.num_train_steps)
    for step, chunk in zip(steps, global_train_chunks(task, mesh, steps, config.batches_per_transfer)):
      with jax.profiler.StepTraceAnnotation('train', step_num=step):
        if step == start_step:
          state, step_metrics = first_step(train_step, state, chunk, train_rng)
        else:
          state, step_metrics = train_step(state, chunk, train_rng)
      train_metrics = merge_metrics(train_metrics, step_metrics)
      window.add(step_metrics)
      done = step + 1
      report_progress(done)
      is_last = done == task.num_train_steps
      log_due = done % config.log_every_steps == 0 or is_last
      stopping = not is_last and stop.requested(done)
      checkpoint_due = done % config.checkpoint_every_steps == 0 or is_last or stopping
      if log_due or checkpoint_due:
        summary = {k: float(v) for k, v in train_metrics.compute().items()}
        _check_finite(summary, done, last_checkpoint, workdir)
        if log_due:
          writer.write_scalars(done, _prefixed('train', summary))
          train_metrics = None
      if done % config.eval_every_steps == 0 or is_last:
        with report_progress.timed('eval'):
          eval_summary = evaluate_all(state, done)
      if checkpoint_due:
        with report_progress.timed('checkpoint'):
          checkpoints.save(manager, done, {'state': state, 'rng': train_rng_data})
          writer.flush()  # A bucket's TensorBoard events arrive now: a killed run keeps those of its checkpoints.
        last_checkpoint = done
      if stopping:
        logging.warning('Stopped by %s at step %d of %d with a checkpoint in %s; rerun the same command to resume.',
                        stop.signal_name, done, task.num_train_steps, manager.directory)
        break
  finally:
    stop.close()
    manager.wait_until_finished()
    writer.flush()
  return eval_summary
