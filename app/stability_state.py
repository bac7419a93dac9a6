"""Runs the Stability lab on the engine's task runner for the Stability tab.

The worker reports a `StabilitySnapshot` (finished rows, the training curve under way, a stage line)
into the task's progress mailbox; a timer here reads the newest one, so the training thread never
waits for the GUI and the GUI never gets a signal per Adam step.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from advlens.engine import AdvLensError
from advlens.engine.labs.stability import StabilityConfig, StabilityResult, parse_int_list, run_stability_lab
from advlens.engine.tasks import TaskOutcome
from advlens.task_poller import TaskPoller


def config_from_options(options: dict) -> StabilityConfig:
    """The panel's plain options as a validated engine config (ConfigError on bad input)."""
    return StabilityConfig(
        stripes=parse_int_list(str(options["stripes"]), "stripes K"),
        dims=parse_int_list(str(options["dims"]), "dimensions d"),
        train_points=int(options["train_points"]), test_points=int(options["test_points"]),
        width=int(options["width"]), depth=int(options["depth"]), seeds=int(options["seeds"]),
        train_steps=int(options["train_steps"]), learning_rate=float(options["learning_rate"]),
        norm=str(options["norm"]), sweep=str(options.get("sweep", "stripes")),
        point_counts=parse_int_list(str(options.get("point_counts", "100,300,1000,3000,10000,20000")),
                                    "training-set sizes"),
        points_stripes=int(options.get("points_stripes", 4)),
    ).validated()


class StabilityState(TaskPoller):
    """The Stability tab's state: the run under way, its newest snapshot, its result."""

    started = Signal(object)  # the StabilityConfig
    partial = Signal(object)  # StabilitySnapshot
    finished = Signal(object)  # StabilityResult
    failed = Signal(str)
    progressed = Signal(int, int, object, str)  # done, total, eta seconds or None, stage

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent=parent)
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
        self.launch(run_stability_lab, config)
        self.started.emit(config)
        return True

    def on_progress(self, done: int, total: int, eta: float | None, snapshot) -> None:
        self.progressed.emit(done, total, eta, snapshot.stage if snapshot is not None else "")
        if snapshot is not None:
            self.last_rows = snapshot.rows
            self.partial.emit(snapshot)

    def on_outcome(self, outcome: TaskOutcome) -> None:
        if outcome.kind == "finished":
            self.last_result = outcome.result
            self.last_rows = outcome.result.rows
            self.finished.emit(outcome.result)
        elif outcome.kind == "cancelled":
            self.failed.emit("cancelled: the plots keep the settings that finished")
        else:
            self.failed.emit(outcome.message)
