"""Cancel button, progress bar and ETA line: the part every long-running tab shares."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget


class TaskProgress(QWidget):
    """Shows how far a task is and lets a person stop it; `cancelRequested` when Cancel is pressed."""

    cancelRequested = Signal()

    def __init__(self, cancel_tip: str, unit: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.unit = unit
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip(cancel_tip)
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancelRequested)
        self.bar = QProgressBar()
        self.eta = QLabel("")
        for widget in (self.cancel, self.bar, self.eta):
            layout.addWidget(widget)
        self._busy = False
        self._total = 0

    def finish(self) -> None:
        """The task ended with its result: a full bar and 'done' (with its count when it counted)."""
        self.bar.setMaximum(1)
        self.bar.setValue(1)
        unit = f" {self.unit}" if self.unit else ""
        self.eta.setText(f"done: {self._total}/{self._total}{unit}" if self._total > 0 else "done")

    def stop(self, word: str = "stopped") -> None:
        """The task ended without its result (`word`: 'cancelled', 'stopped'): how far it got, when it
        counted, never '0/0' and never the 'working…' or time left of a task still under way. Nothing
        changes when no task was under way (a refusal before the start)."""
        if not self._busy:
            return
        self.set_busy(False)
        unit = f" {self.unit}" if self.unit else ""
        self.eta.setText(f"{word} at {self.bar.value()}/{self._total}{unit}" if self._total > 0 else word)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.cancel.setEnabled(busy)
        if busy:
            self._total = 0  # a new task: the last one's count is not this one's
            self.bar.setMaximum(1)
            self.bar.setValue(0)
            self.eta.setText("starting…")

    def set_progress(self, done: int, total: int, eta: float | None) -> None:
        """`done` of `total` pieces; a task that does not count its pieces (total 0) shows 'done' once it
        reports, never '0/0'."""
        self._total = total
        if total <= 0:
            self.bar.setMaximum(1)
            self.bar.setValue(0 if self._busy else 1)
            self.eta.setText("working…" if self._busy else "done")
            return
        self.bar.setMaximum(total)
        self.bar.setValue(done)
        count = f"{done}/{total}" + (f" {self.unit}" if self.unit else "")
        self.eta.setText(count + (f" · about {eta:.0f} s left" if eta is not None and done < total else ""))
