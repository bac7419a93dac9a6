"""Wires the Stability panel (view) to the StabilityState (engine task): snapshots in, plain lists out."""

from __future__ import annotations

from advlens.engine.labs.stability import (
    ABOUT,
    DEPARTURES,
    KINDS,
    SettingRow,
    StabilityConfig,
    StabilityResult,
    StabilitySnapshot,
    table_rows,
)
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
        self.panel.set_busy(True)
        self.panel.set_summary(f"Running {len(config.settings())} settings: K = "
                               f"{', '.join(map(str, config.stripes))} at d = {', '.join(map(str, config.dims))} …")
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
        self.panel.set_summary(result.summary)
        self.panel.set_progress(1, 1, None, f"finished in {result.seconds:.0f} s")

    def on_failed(self, message: str) -> None:
        self.panel.set_busy(False)
        self.panel.set_summary(f"Stability lab stopped: {message}")

    def _update_axis_values(self) -> None:
        if self.config is None:
            return
        axis, _ = self.panel.axis()
        if axis == "stripes":
            self.panel.set_axis_values(list(self.config.dims), "d")
        else:
            self.panel.set_axis_values(list(self.config.stripes), "K")

    def redraw(self) -> None:
        self._update_axis_values()
        self.draw_rows(self.state.last_rows)

    def draw_rows(self, rows: list[SettingRow]) -> None:
        self._drawn_rows = len(rows)
        axis, held = self.panel.axis()
        other = "dim" if axis == "stripes" else "stripes"
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
        x_label = "stripes K (log scale)" if axis == "stripes" else "input dimension d (log scale)"
        held_text = f" at {'d' if axis == 'stripes' else 'K'} = {held}" if held is not None else ""
        threshold = self.config.accurate_at if self.config is not None else 0.95
        accurate = {kind: [value >= threshold for value in values] for kind, values in accuracy.items()}
        self.panel.set_sweep(x_label, xs, accuracy, rho, (seed_x, seed_acc, seed_rho),
                             [r.ground_truth_rho for r in chosen], f"ρ ({norm_name}, log scale)", accurate)
        seeds = self.config.seeds if self.config is not None else 0
        self.panel.set_good_fraction(xs, [r.good_fraction for r in chosen],
                                     f"Fixed MLP runs accurate and stable{held_text}, of {seeds} "
                                     f"seed{'s' if seeds != 1 else ''}", "share" if seeds != 1 else "1 = yes")
        headers, cells = table_rows(rows, norm)
        self.panel.set_table(headers, cells)
