"""A one-worker runner: attacks run on a background thread; the caller controls and polls them.

Qt-free on purpose (napari's layer slicer and Orange's ConcurrentWidgetMixin work the same way):
the app adapts it with a timer that drains telemetry and events on the GUI thread. Every error on
the worker, torch's RuntimeErrors included, arrives as a 'failed' event; none is swallowed.
"""

from __future__ import annotations

import logging
import queue
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .errors import AdvLensError, describe_unexpected
from .record import RunRecord
from .session import AttackJob, RunControl, execute
from .telemetry import Telemetry

log = logging.getLogger(__name__)


@dataclass
class RunEvent:
    """How a run ended: kind is 'finished', 'cancelled' or 'failed'."""

    kind: str
    record: RunRecord | None = None
    message: str = ""


class RunHandle:
    """One submitted run: its telemetry, its controls and, once it ends, its event."""

    def __init__(self, job: AttackJob, paused: bool = False):
        self.job = job
        self.telemetry = Telemetry(batch=job.images.shape[0])
        self.control = RunControl(paused=paused)
        self.events: queue.SimpleQueue[RunEvent] = queue.SimpleQueue()
        self.future: Future | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None

    def _work(self) -> None:
        self.started_at = time.perf_counter()
        try:
            record = execute(self.job, self.telemetry, self.control)
            event = RunEvent(record.status, record=record)
        except AdvLensError as exc:
            event = RunEvent("failed", message=str(exc))
        except BaseException as exc:  # noqa: BLE001 - every worker error must reach the GUI
            log.error("unexpected error in attack worker:\n%s", traceback.format_exc())
            event = RunEvent("failed", message=f"unexpected error: {describe_unexpected(exc)}"[:400])
        self.ended_at = time.perf_counter()
        self.events.put(event)

    # controls, callable from any thread
    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def step(self, count: int = 1) -> None:
        self.control.step(count)

    def cancel(self) -> None:
        self.control.cancel()

    @property
    def done(self) -> bool:
        return self.future is not None and self.future.done()

    def poll(self) -> RunEvent | None:
        """The end event if the run has ended, else None (never blocks)."""
        try:
            return self.events.get_nowait()
        except queue.Empty:
            return None

    def wait(self, timeout: float | None = None) -> RunEvent:
        """Block until the run ends (scripts and tests)."""
        return self.events.get(timeout=timeout)

    def steps_per_second(self) -> float:
        if self.started_at is None:
            return 0.0
        end = self.ended_at or time.perf_counter()
        return self.telemetry.steps_seen / max(end - self.started_at, 1e-9)


class AttackRunner:
    """Runs one attack at a time on one worker thread; starting another cancels the current one."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="advlens-attack")
        self.current: RunHandle | None = None

    def start(self, job: AttackJob, paused: bool = False) -> RunHandle:
        if self.current is not None and not self.current.done:
            self.current.cancel()
        handle = RunHandle(job, paused=paused)
        handle.future = self._executor.submit(handle._work)
        self.current = handle
        return handle

    def shutdown(self, wait: bool = True) -> None:
        """Cancel the current run and stop the worker (closing the window calls this)."""
        if self.current is not None:
            self.current.cancel()
        self._executor.shutdown(wait=wait, cancel_futures=True)
