"""The Qt side of a tab's jobs in the engine process: one job at a time on the tab's lane, and a timer
that reads its progress mailbox.

The labs' and analyses' states derive from it and turn what it reads into their own signals, so
each of them only says what to run and how to present progress and outcomes. The job runs in the
engine process; its partial and final results arrive as plain data.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer

from advlens.engine.client import RemoteJob
from advlens.engine.jobs import JobOutcome
from advlens.engine_link import EngineLink


class TaskPoller(QObject):
    """Runs one engine job at a time on `lane` and polls it on the GUI thread (never a signal per step)."""

    def __init__(self, link: EngineLink, lane: str, interval_ms: int = 100, parent: QObject | None = None):
        super().__init__(parent)
        self.link = link
        self.lane = lane
        self.handle: RemoteJob | None = None
        self._seen_version = 0
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    @property
    def running(self) -> bool:
        return self.handle is not None and self.timer.isActive()

    def launch(self, job: Any) -> RemoteJob:
        """Start `job` in the engine (a job under way on this lane is cancelled there)."""
        if self.handle is not None and not self.handle.done():
            self.handle.abandon()
        self.handle = self.link.submit(job, self.lane)
        self._seen_version = 0
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
        progress = handle.progress
        if progress.version != self._seen_version:
            self._seen_version = progress.version
            self.on_progress(progress.done, progress.total, progress.eta_s, progress.partial)
        if outcome is not None:
            self.timer.stop()
            self.link.client.forget(handle)
            self.on_outcome(outcome)

    def on_progress(self, done: int, total: int, eta: float | None, partial: Any) -> None:
        """New progress (and the newest partial result, if the job reports one)."""

    def on_outcome(self, outcome: JobOutcome) -> None:
        """The job ended: finished, cancelled or failed."""

    def shutdown(self) -> None:
        """The window is closing: the job is cancelled in the engine and counts as cancelled now."""
        self.timer.stop()
        if self.handle is not None and not self.handle.done():
            self.handle.abandon()
