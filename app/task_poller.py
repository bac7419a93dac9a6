"""The Qt side of an engine job worker: one worker, and a timer that reads its jobs' progress mailbox.

The labs' and analyses' states derive from it and turn what it reads into their own signals, so
each of them only says what to run and how to present progress and outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from advlens.engine.jobs import JobHandle, JobOutcome, JobWorker


class TaskPoller(QObject):
    """Runs one engine task at a time and polls it on the GUI thread (never a signal per step)."""

    def __init__(self, interval_ms: int = 100, parent: QObject | None = None):
        super().__init__(parent)
        self.runner = JobWorker(name="advlens-task", supersede=True)
        self.handle: JobHandle | None = None
        self._seen_version = -1
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    @property
    def running(self) -> bool:
        return self.handle is not None and self.timer.isActive()

    def launch(self, fn: Callable[..., Any], *args: Any) -> JobHandle:
        """Start `fn(*args, progress=...)` on the worker (cancelling any task under way)."""
        self.handle = self.runner.submit(lambda control: fn(*args, progress=control))
        self._seen_version = -1
        self.timer.start()
        return self.handle

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()

    def poll(self) -> None:
        handle = self.handle
        if handle is None:
            return
        outcome = handle.poll()  # read first: if it ended, the progress below is final
        version, done, total, partial = handle.progress.snapshot()
        if version != self._seen_version:
            self._seen_version = version
            self.on_progress(done, total, handle.progress.eta_seconds(), partial)
        if outcome is not None:
            self.timer.stop()
            self.on_outcome(outcome)

    def on_progress(self, done: int, total: int, eta: float | None, partial: Any) -> None:
        """New progress (and the newest partial result, if the task reports one)."""

    def on_outcome(self, outcome: JobOutcome) -> None:
        """The task ended: finished, cancelled or failed."""

    def shutdown(self) -> None:
        self.timer.stop()
        self.runner.shutdown()
