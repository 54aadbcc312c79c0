"""Stopping a run cleanly: a signal asks the loop to checkpoint the step it has reached and return."""

import os
import signal
import threading
from typing import Any

import jax
from jax.experimental import multihost_utils


class StopRequests:
  """SIGINT (Ctrl-C) and SIGTERM (how schedulers and preemptible TPU VMs stop a job) ask the loop to stop.

  The loop then checkpoints the step it has reached and returns; a second Ctrl-C stops at once. With
  several processes, SIGTERM goes through JAX's preemption sync point, so that every process stops
  (and saves) at the same step.
  """

  def __init__(self):
    self.signal_name: str | None = None  # The signal that stopped the run, once the loop has acted on it.
    self._received: str | None = None
    self._previous = {}
    self._multi_process = jax.process_count() > 1
    if threading.current_thread() is not threading.main_thread():
      return  # Signal handlers belong to the main thread; elsewhere (a test's thread) none is installed.
    for signum in (signal.SIGINT,) if self._multi_process else (signal.SIGINT, signal.SIGTERM):
      self._previous[signum] = signal.signal(signum, self._handle)

  def _handle(self, signum: int, frame: Any) -> None:
    del frame
    if self._received is not None and signum == signal.SIGINT:
      raise KeyboardInterrupt  # The second Ctrl-C.
    self._received = signal.Signals(signum).name
    if self._multi_process:
      os.kill(os.getpid(), signal.SIGTERM)  # To JAX's preemption notifier, which syncs the processes.

  def requested(self, step: int) -> bool:
    """Whether to stop after `step`; with several processes, a decision they all reach at the same step."""
    if self._multi_process:
      if multihost_utils.reached_preemption_sync_point(step):
        self.signal_name = self._received or 'SIGTERM'
    else:
      self.signal_name = self._received
    return self.signal_name is not None

  def close(self) -> None:
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)
