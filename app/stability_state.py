"""Runs the Stability lab in the engine process for the Stability tab.

The engine's lab reports a `StabilitySnapshot` (finished rows, the training curve under way, a stage
line) into its job's progress mailbox; the engine sends the newest one a few times a second and a
timer here reads it, so the training never waits for the GUI and the GUI never gets a signal per
Adam step. The config is checked here first (torch-free), so bad settings get their message at once.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from advlens.engine.errors import AdvLensError
from advlens.engine.jobs import JobOutcome
from advlens.engine.labs.stability_results import StabilityConfig, StabilityResult, config_from_options
from advlens.engine.protocol import LabJob
from advlens.engine_link import EngineLink
from advlens.sweep_settings import sweep_scheduler
from advlens.task_poller import TaskPoller

__all__ = ["StabilityState", "config_from_options"]


class StabilityState(TaskPoller):
    """The Stability tab's state: the run under way, its newest snapshot, its result."""

    started = Signal(object)  # the StabilityConfig
    partial = Signal(object)  # StabilitySnapshot
    finished = Signal(object)  # StabilityResult
    failed = Signal(str)
    progressed = Signal(int, int, object, str)  # done, total, eta seconds or None, stage

    def __init__(self, link: EngineLink, parent: QObject | None = None):
        super().__init__(link, "stability", parent=parent)
        self.config: StabilityConfig | None = None
        self.last_result: StabilityResult | None = None
        self.last_rows: list = []

    def start(self, options: dict) -> bool:
        try:
            config = config_from_options(options)
        except AdvLensError as exc:
            self.failed.emit(str(exc))
            return False
        self.config = config
        self.last_rows = []
        self.launch(LabJob("stability", dict(options), scheduler=sweep_scheduler()))
        self.started.emit(config)
        return True

    def on_progress(self, done: int, total: int, eta: float | None, snapshot) -> None:
        self.progressed.emit(done, total, eta, snapshot.stage if snapshot is not None else "")
        if snapshot is not None:
            self.last_rows = snapshot.rows
            self.partial.emit(snapshot)

    def on_outcome(self, outcome: JobOutcome) -> None:
        if outcome.kind == "finished":
            self.last_result = outcome.result
            self.last_rows = outcome.result.rows
            self.finished.emit(outcome.result)
        elif outcome.kind == "cancelled":
            self.failed.emit("cancelled: the plots keep the settings that finished")
        else:
            self.failed.emit(outcome.message)
