"""The Resolution lab tab: runs the engine's lab in the engine process and draws its (partial) results."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QWidget

from advlens.engine import AdvLensError
from advlens.engine.images import atomic_write_bytes
from advlens.engine.jobs import JobOutcome
from advlens.engine.labs.readings import METRIC_TITLES, PREDICTIONS
from advlens.engine.labs.resolution_results import ResolutionLabConfig, ResolutionLabResult
from advlens.engine.protocol import LabJob
from advlens.engine.units import GREY_LEVELS, grey_levels
from advlens.model_library import EXPLORER_KEY
from advlens.state import ExplorerState
from advlens.sweep_settings import sweep_scheduler
from advlens.task_poller import TaskPoller
from advlens.widgets.resolution_panel import ResolutionPanel


class ResolutionLabState(TaskPoller):
    updated = Signal(object)  # ResolutionLabResult (partial or final)
    finished = Signal(object)
    failed = Signal(str)
    progressed = Signal(int, int, object)

    def __init__(self, explorer: ExplorerState, parent: QObject | None = None):
        super().__init__(explorer.link, "resolution", interval_ms=150, parent=parent)
        self.explorer = explorer
        self.result: ResolutionLabResult | None = None

    def start(self, options: dict) -> bool:
        model = self.explorer.model
        per_resolution = options.get("models") == "per-resolution"  # the control: a model trained at each size
        if model is None and not per_resolution:
            self.failed.emit("open a model first")
            return False
        try:
            sizes = [int(t) for t in options["resolutions"].split(",") if t.strip()]
        except ValueError:
            self.failed.emit("resolutions must be whole numbers separated by commas")
            return False
        config = ResolutionLabConfig(images=options["images"], model=model.name if model else "demo",
                                     resolutions=sizes, attack=options["attack"], steps=int(options["steps"]),
                                     condition=options["condition"], seed=self.explorer.config.attack.seed)
        if per_resolution:
            config = replace(config, device=model.device if model is not None else self.explorer.config.device)
        try:
            config.validated()  # bad settings are one message now; the engine adds the control models
        except AdvLensError as exc:
            self.failed.emit(str(exc))
            return False
        self.launch(LabJob("resolution", config.to_dict(), None if per_resolution else EXPLORER_KEY,
                           scheduler=sweep_scheduler()))
        return True

    def on_progress(self, done: int, total: int, eta: float | None, partial) -> None:
        self.progressed.emit(done, total, eta)
        if partial is not None:
            self.result = partial
            self.updated.emit(partial)

    def on_outcome(self, outcome: JobOutcome) -> None:
        if outcome.kind == "finished":
            self.result = outcome.result
            self.updated.emit(outcome.result)
            self.finished.emit(outcome.result)
        elif outcome.kind == "cancelled":
            self.failed.emit("cancelled: the plots show the resolutions that finished")
        else:
            self.failed.emit(outcome.message)


def _fmt(value: float, digits: int = 4) -> str:
    return "—" if not np.isfinite(value) else f"{value:.{digits}g}"


class ResolutionTab:
    """Presenter between the lab state and its panel."""

    def __init__(self, panel: ResolutionPanel, state: ResolutionLabState, parent: QWidget):
        self.panel, self.state, self.parent = panel, state, parent
        panel.runRequested.connect(self._start)
        panel.cancelRequested.connect(state.cancel)
        panel.exportRequested.connect(self.export_dialog)
        panel.metricChanged.connect(lambda: state.result is not None and self.show(state.result))
        state.progressed.connect(panel.set_progress)
        state.updated.connect(self.show)
        state.finished.connect(lambda _r: (panel.set_busy(False), panel.task.finish()))
        state.failed.connect(self._failed)

    def _start(self, options: dict) -> None:
        if self.state.start(options):
            self.panel.set_busy(True)
            self.panel.set_verdict("Running… the verdict is refitted as each resolution finishes.")
            self.panel.outcome.setText("Plots fill in as each resolution finishes.")

    def _failed(self, message: str) -> None:
        self.panel.task.stop("cancelled" if message.startswith("cancelled") else "stopped")
        self.panel.set_busy(False)
        self.panel.set_verdict(f"Lab stopped: {message}", "bad")
        self.panel.outcome.setText("The plots keep what finished." if self.state.result else "")

    def show(self, result: ResolutionLabResult) -> None:
        p = self.panel
        metric = p.left_metric.currentData()
        norms = result.config.norms
        clean_metric = metric.startswith(("grad", "margin_grad", "first_order"))
        if "l2" in norms or clean_metric:
            source = "l2" if "l2" in norms else norms[0]
            sizes, table = result.table(metric, source)
            fit = result.fits.get(metric)
            stat = (result.means(metric, source) if metric.startswith(("grad", "margin_grad"))
                    else result.medians(metric, source))
            p.l2_plot.set_data(sizes, table, stat, result.means(metric, source),
                               (fit.slope, fit.intercept) if fit else None, PREDICTIONS.get(metric, {}),
                               METRIC_TITLES[metric])
        if "linf" in norms:
            sizes, table = result.table("linf", "linf")
            fit = result.fits.get("linf")
            p.linf_plot.set_data(sizes, grey_levels(table), [grey_levels(v) for v in result.medians("linf", "linf")],
                                 [grey_levels(v) for v in result.means("linf", "linf")],
                                 (fit.slope, fit.intercept + np.log(GREY_LEVELS)) if fit else None, PREDICTIONS["linf"],
                                 "minimal Linf (/255)")
        headers = ["size", "skipped", "failed (censored)", "clean acc.", "median L2", "median rel. L2",
                   "median RMS", "median Linf (/255)", "mean ‖∂margin/∂x‖₁", "mean ‖∂L/∂x‖₂"]
        failed = {s: sum(1 for m in result.measurements if m.resolution == s and m.correct and not m.success)
                  for s in result.config.resolutions}
        med = {m: result.medians(m, "l2") for m in ("l2", "rel_l2", "rms")} if "l2" in norms else {}
        linf = result.medians("linf", "linf") if "linf" in norms else []
        margin_grads = result.means("margin_grad_l1", norms[0])
        grads = result.means("grad_l2", norms[0])
        rows = []
        for j, s in enumerate(result.config.resolutions):
            if s not in result.skipped:
                continue
            rows.append([str(s), str(result.skipped[s]), str(failed[s]), f"{result.clean_accuracy[s]:.0%}",
                         *(_fmt(med[m][j]) if med else "—" for m in ("l2", "rel_l2", "rms")),
                         _fmt(grey_levels(linf[j])) if linf else "—", _fmt(margin_grads[j]), _fmt(grads[j])])
        p.set_table(headers, rows)
        p.strip.set_perturbations(sorted(result.strip.items()))
        p.set_verdict(self.verdict_text(result))
        p.outcome.setText(self.details_html(result))

    @staticmethod
    def verdict_text(result: ResolutionLabResult) -> str:
        """The joint verdict's sentence: the one line that answers the question, kept in view."""
        done = "" if result.done >= result.total else f" (partial: {result.done}/{result.total} measured)"
        joint = result.joint.sentence if result.joint is not None else "Not enough data for a verdict yet."
        return joint + done

    @staticmethod
    def details_html(result: ResolutionLabResult) -> str:
        """What ran, warnings (convergence) in colour, one line per metric (the joint verdict's three in bold;
        the verdict itself is in the banner above) and the notes in small type."""
        def esc(text: str) -> str:
            return html.escape(text, quote=False)

        bold = ("raw L2 ", "Linf ", "‖∂margin/∂x‖₁ ")
        warnings = [n for n in result.notes if n.startswith("WARNING")]
        notes = "<br>".join(f"• {esc(n)}" for n in result.notes if n not in warnings)
        failed = ", ".join(f"{norm.upper()} {count}" for norm, count in result.censored_counts().items())
        seeds = f", {result.replicates} training seeds per size" if result.replicates > 1 else ""
        head = (f"<b>{esc(result.model_name)}</b>, {esc(result.config.images)}, {result.config.attack.upper()} "
                f"{result.config.steps} steps{seeds}; failed searches (censored): {failed}")
        lines = [head, *(f"<span style='color:#e65100'><b>{esc(w)}</b></span>" for w in warnings),
                 *(f"<b>{esc(v)}</b>" if v.startswith(bold) else esc(v) for v in result.verdicts[1:])]
        return "<br>".join(lines) + f"<br><small>{notes}</small>"

    def export(self, kind: str, path: Path) -> Path:
        result = self.state.result
        if result is None:
            raise AdvLensError("run the lab first")
        if kind == "csv":
            atomic_write_bytes(path, result.to_csv().encode())
        elif kind == "json":
            atomic_write_bytes(path, json.dumps(result.to_json_dict(), indent=2, default=float).encode())
        else:
            self.panel.plots.grab().save(str(path), "PNG")
        return path

    def export_dialog(self, kind: str) -> None:
        if self.state.result is None:
            self.panel.outcome.setText("Nothing to export yet: run the lab first.")
            return
        suffix = {"csv": "CSV (*.csv)", "png": "PNG (*.png)", "json": "JSON (*.json)"}[kind]
        path, _ = QFileDialog.getSaveFileName(self.parent, "Export", f"resolution-lab.{kind}", suffix)
        if path:
            self.export(kind, Path(path))
