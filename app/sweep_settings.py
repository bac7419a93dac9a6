"""Settings ▸ Sweep scheduler: where the Analysis tab's and the Resolution lab's jobs run.

The choice is one string (`engine/schedulers.py`: empty for the engine's own pool, `local:N`, or a
Dask scheduler's tcp:// address), remembered in the app's settings (first default: $ADVLENS_SCHEDULER)
and put as plain data into every analysis and lab request, so the engine process, not this one,
talks to the cluster. Checking what a person typed needs neither torch nor Dask.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from advlens.engine.errors import ConfigError
from advlens.engine.schedulers import parse_scheduler, scheduler_from
from advlens.state import app_settings

KEY = "sweeps/scheduler"


def sweep_scheduler() -> str:
    """The scheduler sweeps use: the remembered choice, else $ADVLENS_SCHEDULER, else '' (the local pool)."""
    stored = app_settings().value(KEY, None)
    return scheduler_from(None) if stored is None else str(stored).strip()


def set_sweep_scheduler(text: str) -> str:
    """Check and remember a scheduler string (ConfigError, with the accepted forms, if it names none)."""
    text = text.strip()
    parse_scheduler(text)
    settings = app_settings()
    settings.setValue(KEY, text)
    settings.sync()
    return text


class SchedulerDialog(QDialog):
    """One field and what it accepts; a bad entry is said in the dialog, which stays open."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Sweep scheduler")
        layout = QVBoxLayout(self)
        about = QLabel("Where sweeps (the Analysis tab, the Resolution lab) run their jobs:\n"
                       "  empty or local — the engine's own worker (the default)\n"
                       "  local:N — a Dask LocalCluster of N workers on this machine\n"
                       "  tcp://HOST:8786 — a running Dask scheduler (a cluster, an SSH tunnel)\n"
                       "Dask needs pip install 'advlens[cluster]'.")
        about.setWordWrap(True)
        layout.addWidget(about)
        self.field = QLineEdit(sweep_scheduler())
        self.field.setPlaceholderText("local")
        self.field.setToolTip("local, local:N or tcp://HOST:PORT")
        layout.addWidget(self.field)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.buttons = buttons
        self.chosen = self.field.text()

    def accept(self) -> None:
        try:
            self.chosen = set_sweep_scheduler(self.field.text())
        except ConfigError as exc:
            self.error.setText(str(exc))
            return
        super().accept()
