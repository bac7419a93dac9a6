"""Long computations off the caller's thread, with progress, partial results and cancel.

The analysis functions take a `Progress` and call `progress.report(done, total, partial)` as each
piece finishes; they stop at the next piece once `progress.cancelled` is set. `TaskRunner` runs one
such function at a time on a worker thread (Qt-free; the app polls it on a timer, like the attack
runner), and the CLI passes a Progress that prints a bar. Sweeps split their pieces into executor
jobs (`executor.py`) and still report through the one Progress their caller watches.
"""

from __future__ import annotations

import copy
import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from .errors import AdvLensError, Cancelled, describe_unexpected

log = logging.getLogger(__name__)


class Progress:
    """Shared between a computation and whoever watches it; thread-safe."""

    def __init__(self, on_report: Callable[[int, int, Any], None] | None = None):
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self.done = 0
        self.total = 0
        self.partial: Any = None
        self.version = 0
        self.started = time.perf_counter()
        self._on_report = on_report

    def report(self, done: int, total: int, partial: Any = None) -> None:
        """Publish progress; `partial` is deep-copied, so the computation may go on mutating its own."""
        partial = copy.deepcopy(partial)
        with self._lock:
            self.done, self.total, self.partial = done, total, partial
            self.version += 1
        if self._on_report is not None:
            self._on_report(done, total, partial)

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise Cancelled if a cancel was asked for (call between pieces of work)."""
        if self._cancel.is_set():
            raise Cancelled("cancelled")

    def snapshot(self) -> tuple[int, int, int, Any]:
        with self._lock:
            return self.version, self.done, self.total, self.partial

    def eta_seconds(self) -> float | None:
        with self._lock:
            done, total = self.done, self.total
        if done == 0 or total == 0:
            return None
        elapsed = time.perf_counter() - self.started
        return elapsed / done * (total - done)


def stop_flag(progress: Progress | None) -> Callable[[], bool] | None:
    """What a loop asks between steps: has the watcher cancelled? (None when nobody can cancel.)"""
    return (lambda: progress.cancelled) if progress is not None else None


@dataclass
class TaskOutcome:
    kind: str  # finished | cancelled | failed
    result: Any = None
    message: str = ""


class TaskHandle:
    def __init__(self, progress: Progress):
        self.progress = progress
        self.outcome: queue.SimpleQueue[TaskOutcome] = queue.SimpleQueue()
        self.future: Future | None = None

    def cancel(self) -> None:
        self.progress.cancel()

    def poll(self) -> TaskOutcome | None:
        try:
            return self.outcome.get_nowait()
        except queue.Empty:
            return None

    def wait(self, timeout: float | None = None) -> TaskOutcome:
        return self.outcome.get(timeout=timeout)

    @property
    def done(self) -> bool:
        return self.future is not None and self.future.done()


class TaskRunner:
    """One worker thread; starting a task cancels the one before it."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="advlens-task")
        self.current: TaskHandle | None = None

    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> TaskHandle:
        if self.current is not None and not self.current.done:
            self.current.cancel()
        handle = TaskHandle(Progress())

        def work() -> None:
            try:
                result = fn(*args, progress=handle.progress, **kwargs)
                handle.outcome.put(TaskOutcome("finished", result))
            except Cancelled:
                handle.outcome.put(TaskOutcome("cancelled", handle.progress.partial, "cancelled"))
            except AdvLensError as exc:
                handle.outcome.put(TaskOutcome("failed", message=str(exc)))
            except BaseException as exc:  # noqa: BLE001 - every worker error must reach the caller
                log.error("analysis task failed:\n%s", traceback.format_exc())
                handle.outcome.put(TaskOutcome("failed", message=describe_unexpected(exc)[:400]))

        handle.future = self._executor.submit(work)
        self.current = handle
        return handle

    def shutdown(self) -> None:
        if self.current is not None:
            self.current.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
