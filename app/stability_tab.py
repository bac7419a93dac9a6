"""Wires the Stability panel (view) to the StabilityState (engine task): snapshots in, plain lists out."""

from __future__ import annotations

import html

from advlens.engine.labs.stability_config import StabilityConfig
from advlens.engine.labs.stability_results import (
    CATEGORIES,
    KINDS,
    SettingRow,
    StabilityResult,
    StabilitySnapshot,
)
from advlens.engine.labs.stability_text import ABOUT, DEPARTURES, table_rows
from advlens.stability_state import StabilityState
from advlens.widgets.stability_panel import StabilityPanel


class StabilityTab:
    """Presenter: picks the rows for the chosen axis and hands the panel numbers and strings."""

    def __init__(self, panel: StabilityPanel, state: StabilityState):
        self.panel, self.state = panel, state
        self.config: StabilityConfig | None = None
        self._drawn_rows = -1
        panel.set_notes(f"{ABOUT}\n\n{DEPARTURES}")
        panel.runRequested.connect(state.start)
        panel.cancelRequested.connect(state.cancel)
        panel.axisChanged.connect(self.redraw)
        state.started.connect(self.on_started)
        state.progressed.connect(panel.set_progress)
        state.partial.connect(self.on_partial)
        state.finished.connect(self.on_finished)
        state.failed.connect(self.on_failed)

    def on_started(self, config: StabilityConfig) -> None:
        self.config = config
        self._drawn_rows = -1
        self.panel.set_axis(config.swept)
        self.panel.set_busy(True)
        swept = (f"K = {', '.join(map(str, config.stripes))}" if config.sweep == "stripes" else
                 f"n = {', '.join(map(str, config.point_counts))} at K = {config.points_stripes}")
        self.panel.set_summary(f"Running {len(config.settings())} settings: {swept}, d = "
                               f"{', '.join(map(str, config.dims))} …")
        self._update_axis_values()
        self.draw_rows([])

    def on_partial(self, snapshot: StabilitySnapshot) -> None:
        curve = snapshot.curve
        if curve is not None:
            self.panel.set_training(curve.label, curve.steps, curve.members, curve.loss, curve.train_accuracy,
                                    curve.test_accuracy)
        if len(snapshot.rows) != self._drawn_rows:
            self.draw_rows(snapshot.rows)

    def on_finished(self, result: StabilityResult) -> None:
        self.panel.set_busy(False)
        self.draw_rows(result.rows)
        rest = result.summary[len(result.headline):].strip()  # the verdict sentence in bold, then the details
        self.panel.set_summary(f"<b>{html.escape(result.headline)}</b> {html.escape(rest)}")
        self.panel.task.finish()  # its own count ('done: 240/240 work units'), not a made-up '1/1'
        self.panel.stage.setText(f"finished in {result.seconds:.0f} s")

    def on_failed(self, message: str) -> None:
        self.panel.task.stop("cancelled" if message.startswith("cancelled") else "stopped")
        self.panel.set_busy(False)
        self.panel.set_summary(f"Stability lab stopped: {message}")

    def _update_axis_values(self) -> None:
        if self.config is None:
            return
        axis, _ = self.panel.axis()
        if axis in ("stripes", "train_points"):
            self.panel.set_axis_values(list(self.config.dims), "d")
        elif self.config.sweep == "points":
            self.panel.set_axis_values(list(self.config.point_counts), "n")
        else:
            self.panel.set_axis_values(list(self.config.stripes), "K")

    def redraw(self) -> None:
        self._update_axis_values()
        self.draw_rows(self.state.last_rows)

    def draw_rows(self, rows: list[SettingRow]) -> None:
        self._drawn_rows = len(rows)
        axis, held = self.panel.axis()
        swept = self.config.swept if self.config is not None else "stripes"
        other = "dim" if axis in ("stripes", "train_points") else swept
        chosen = [r for r in rows if held is None or getattr(r, other) == held]
        chosen.sort(key=lambda r: getattr(r, axis))
        xs = [float(getattr(r, axis)) for r in chosen]
        accuracy = {kind: [r.accuracy(kind) for r in chosen] for kind in KINDS}
        rho = {kind: [r.rho(kind) for r in chosen] for kind in KINDS}
        seed_x = [float(getattr(r, axis)) for r in chosen for _ in r.fixed_runs]
        seed_acc = [run.test_accuracy for r in chosen for run in r.fixed_runs]
        seed_rho = [run.rho for r in chosen for run in r.fixed_runs]
        norm = self.config.norm if self.config is not None else "l2"
        norm_name = "L2" if norm == "l2" else "Linf"
        x_label = {"stripes": "stripes K (log scale)", "dim": "input dimension d (log scale)",
                   "train_points": "training points n (log scale)"}[axis]
        held_name = {"dim": "d", "stripes": "K", "train_points": "n"}[other]
        held_text = f" at {held_name} = {held}" if held is not None else ""
        threshold = self.config.accurate_at if self.config is not None else 0.95
        accurate = {kind: [value >= threshold for value in values] for kind, values in accuracy.items()}
        self.panel.set_sweep(x_label, xs, accuracy, rho, (seed_x, seed_acc, seed_rho),
                             [r.ground_truth_rho for r in chosen], f"ρ ({norm_name}, log scale)", accurate)
        seeds = self.config.seeds if self.config is not None else 0
        share = self.config.unstable_share if self.config is not None else 0.05
        self.panel.set_classes(xs, {c: [r.counts()[c] for r in chosen] for c in CATEGORIES},
                               f"Fixed MLP runs by class{held_text}, of {seeds} seed{'s' if seeds != 1 else ''}",
                               "runs",
                               f"accurate: ≥ {threshold:.0%} held-out; unstable: > {share:.0%} of points within δ")
        headers, cells = table_rows(rows, norm)
        self.panel.set_table(headers, cells)
