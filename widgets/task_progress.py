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

    def set_busy(self, busy: bool) -> None:
        self.cancel.setEnabled(busy)
        if busy:
            self.bar.setValue(0)
            self.eta.setText("starting…")

    def set_progress(self, done: int, total: int, eta: float | None) -> None:
        self.bar.setMaximum(max(total, 1))
        self.bar.setValue(done)
        count = f"{done}/{total}" + (f" {self.unit}" if self.unit else "")
        self.eta.setText(count + (f" · about {eta:.0f} s left" if eta is not None else ""))
