"""One job model for every long computation: attack runs, analyses, labs and sweep pieces.

Design note. A job is a function of one argument, its `JobControl`, run on a `JobWorker` thread;
what it returns is its result. The control is the only thing a job and its watcher share: the
watcher cancels, pauses and single-steps through it, the job asks it between steps
(`wait_to_continue`, `check`) and publishes progress and partial results into it (`report`), which
the watcher reads on its own timer (`snapshot`) — a mailbox, never a callback into the watcher's
thread. Submitting returns a `JobHandle`, a `concurrent.futures.Future` (so sweeps keep their
futures-based executor) that also says how the job ended as a plain `JobOutcome`. Every error a job
raises reaches its handle as one of the engine's own errors (`errors.as_engine_error`, the one
translator), never a RuntimeError a threading layer could swallow.

napari's layer slicer is the model for superseding: a worker made with `supersede=True` cancels
what it runs when a new job arrives (the Explorer's Live budget, a second Run press). The engine
process (`engine_process.py`) runs the same workers; this module is Qt-free and torch-free.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import AdvLensError, Cancelled, as_engine_error

log = logging.getLogger(__name__)

OUTCOMES = ("finished", "cancelled", "failed")


class JobControl:
    """Cancel, pause, single step and progress with partial results, shared by a job and its watcher.

    Thread-safe. A job that runs step by step calls `wait_to_continue()` before every step; a job made
    of pieces calls `check()` (raises `Cancelled`) between pieces and `report()` after each.
    """

    def __init__(self, on_report: Callable[[int, int, Any], None] | None = None, *, paused: bool = False):
        self._cond = threading.Condition()
        self._paused = paused
        self._credits = 0
        self._cancelled = False
        self._on_report = on_report
        self.done = 0
        self.total = 0
        self.partial: Any = None
        self.version = 0
        self.started = time.perf_counter()

    # ------------------------------------------------------------ the watcher's side
    def pause(self) -> None:
        with self._cond:
            self._paused = True

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def step(self, count: int = 1) -> None:
        """Let exactly `count` more steps run, then hold (pauses a running job after its next step)."""
        with self._cond:
            self._paused = True
            self._credits += count
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def should_stop(self) -> bool:
        """The cancel flag as a callable, for code that takes a `should_stop` function."""
        return self._cancelled

    def snapshot(self) -> tuple[int, int, int, Any]:
        """(version, done, total, partial) as of the newest report; the version counts reports."""
        with self._cond:
            return self.version, self.done, self.total, self.partial

    def eta_seconds(self) -> float | None:
        with self._cond:
            done, total = self.done, self.total
        if done == 0 or total == 0:
            return None
        return (time.perf_counter() - self.started) / done * (total - done)

    # ------------------------------------------------------------ the job's side
    def wait_to_continue(self, before_waiting: Callable[[], None] | None = None) -> bool:
        """Block while paused without step credit; False once cancelled.

        `before_waiting` runs once, outside the lock, when the call is about to block: the attack loop
        shows its newest step then, so a paused or single-stepped run always displays the step it
        stopped at.
        """
        if not self._paused and not self._cancelled:  # the running case, every step: no lock (a pause or
            return True  # cancel that lands just now is seen before the next step, as with the lock)
        callback = before_waiting
        while True:
            with self._cond:
                if self._cancelled:
                    return False
                if not self._paused:
                    return True
                if self._credits > 0:
                    self._credits -= 1
                    return True
                if callback is None:
                    self._cond.wait()
                    continue
            callback()
            callback = None

    def check(self) -> None:
        """Raise Cancelled if a cancel was asked for (call between pieces of work)."""
        if self._cancelled:
            raise Cancelled("cancelled")

    def report(self, done: int, total: int, partial: Any = None) -> None:
        """Publish progress; `partial` is deep-copied, so the job may go on mutating its own."""
        partial = copy.deepcopy(partial)
        with self._cond:
            self.done, self.total, self.partial = done, total, partial
            self.version += 1
        if self._on_report is not None:
            self._on_report(done, total, partial)


# Analyses and labs take the control under the name of what they use it for.
Progress = JobControl


@dataclass
class JobOutcome:
    """How a job ended, as plain data: `kind` is 'finished', 'cancelled' or 'failed'.

    A cancelled job's `result` is what it had when it stopped: an attack's record (status
    'cancelled'), else the newest partial result it reported.
    """

    kind: str
    result: Any = None
    message: str = ""

    @property
    def record(self) -> Any:
        """The run record of an attack job (its result)."""
        return self.result


class JobHandle(cf.Future):
    """One submitted job: a Future for its result, plus its control and (attack runs) its telemetry."""

    def __init__(self, control: JobControl | None = None, telemetry: Any = None, job: Any = None, name: str = ""):
        super().__init__()
        self.control = control or JobControl()
        self.telemetry = telemetry
        self.job = job
        self.name = name
        self.started_at: float | None = None
        self.ended_at: float | None = None

    @property
    def progress(self) -> JobControl:
        return self.control

    # controls, callable from any thread
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def step(self, count: int = 1) -> None:
        self.control.step(count)

    def cancel(self) -> bool:
        """Stop a running job at its next step; a queued one never starts."""
        self.control.cancel()
        return super().cancel()

    def outcome(self) -> JobOutcome:
        """How the job ended (call once it is done)."""
        if self.cancelled():
            return JobOutcome("cancelled", self.control.partial, "cancelled")
        error = self.exception(timeout=0)
        if isinstance(error, Cancelled):
            return JobOutcome("cancelled", self.control.partial, str(error) or "cancelled")
        if error is not None:
            return JobOutcome("failed", message=str(error))
        result = self.result(timeout=0)
        if getattr(result, "status", None) == "cancelled":
            return JobOutcome("cancelled", result, "cancelled")
        return JobOutcome("finished", result)

    def poll(self) -> JobOutcome | None:
        """The outcome if the job has ended, else None (never blocks)."""
        return self.outcome() if self.done() else None

    def wait(self, timeout: float | None = None) -> JobOutcome:
        """Block until the job ends (scripts and tests); TimeoutError if it does not in time."""
        cf.wait([self], timeout=timeout)
        if not self.done():
            raise TimeoutError(f"job {self.name or ''} did not end within {timeout} s")
        return self.outcome()

    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or time.perf_counter()) - self.started_at


class JobWorker:
    """Worker threads that run submitted jobs in order; with `supersede`, a new job cancels the others.

    One thread by default: on a CPU torch already spreads each operation over the cores it may use.
    """

    def __init__(self, threads: int = 1, name: str = "advlens-job", supersede: bool = False):
        if threads < 1:
            raise AdvLensError(f"a worker needs at least one thread, got {threads}")
        self.name = name
        self.supersede = supersede
        self._pool = cf.ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._live: set[JobHandle] = set()
        self._closed = False
        self.current: JobHandle | None = None

    def submit(self, work: Callable[[JobControl], Any], *, handle: JobHandle | None = None,
               paused: bool = False, telemetry: Any = None, job: Any = None) -> JobHandle:
        """Queue `work(control)`; returns its handle (a new one unless the caller made it)."""
        handle = handle or JobHandle(JobControl(paused=paused), telemetry=telemetry, job=job)
        with self._lock:
            if self._closed:
                raise AdvLensError("the worker has been shut down")
            superseded = list(self._live) if self.supersede else []
            self._live.add(handle)
            self.current = handle
        for old in superseded:
            old.cancel()
        handle.add_done_callback(self._forget)
        self._pool.submit(self._run, handle, work)
        return handle

    def _forget(self, handle: cf.Future) -> None:
        with self._lock:
            self._live.discard(handle)

    @staticmethod
    def _run(handle: JobHandle, work: Callable[[JobControl], Any]) -> None:
        if not handle.set_running_or_notify_cancel():
            return
        handle.started_at = time.perf_counter()
        try:
            result = work(handle.control)
        except BaseException as exc:  # noqa: BLE001 - every job error must reach its handle
            if not isinstance(exc, AdvLensError):
                log.error("job %s failed:\n%s", handle.name, traceback.format_exc())
            handle.ended_at = time.perf_counter()
            handle.set_exception(as_engine_error(exc))
        else:
            handle.ended_at = time.perf_counter()
            handle.set_result(result)

    def live(self) -> list[JobHandle]:
        with self._lock:
            return list(self._live)

    def cancel_all(self) -> None:
        """Cancel queued jobs and stop running ones at their next step."""
        for handle in self.live():
            handle.cancel()

    def shutdown(self, wait: bool = True, cancel: bool = True) -> None:
        """Stop taking jobs, cancel what is left (cancel=False: finish it), wait for the threads."""
        with self._lock:
            self._closed = True
        if cancel:
            self.cancel_all()
        self._pool.shutdown(wait=wait, cancel_futures=cancel)


def stop_flag(progress: JobControl | None) -> Callable[[], bool] | None:
    """What a loop asks between steps: has the watcher cancelled? (None when nobody can cancel.)"""
    return progress.should_stop if progress is not None else None
