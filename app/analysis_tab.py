"""Wires the Analysis panel (view) to the AnalysisState (engine tasks): results in, plots out."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtWidgets import QFileDialog, QWidget

from advlens.analysis_state import AnalysisState, summary_text
from advlens.widgets.analysis_panel import AnalysisPanel
from advlens.widgets.analysis_views import ATTACK_COLOUR, GAUSS_COLOUR, IMAGE_COLOUR, UNIFORM_COLOUR


class AnalysisTab:
    """Presenter: translates engine results into the panel's plain-data calls."""

    def __init__(self, panel: AnalysisPanel, state: AnalysisState, parent: QWidget):
        self.panel, self.state, self.parent = panel, state, parent
        panel.runRequested.connect(state.start)
        panel.cancelRequested.connect(state.cancel)
        panel.folderRequested.connect(self.choose_folder)
        panel.transferToggled.connect(state.set_checked)
        panel.addModelRequested.connect(self.choose_model_file)
        state.candidatesChanged.connect(self.show_transfer_models)
        state.note.connect(panel.transfer_models.set_note)
        state.explorer.link.ready.connect(lambda _info: self.show_transfer_models())
        state.started.connect(lambda kind: panel.set_busy(True, kind))
        state.progressed.connect(panel.set_progress)
        state.partial.connect(self.show)
        state.finished.connect(self.finish)
        state.failed.connect(self.fail)
        self.show_transfer_models()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.parent, "Folder of images")
        self.panel.set_folder(folder)

    def choose_model_file(self) -> None:
        """The Explorer's Open model dialog (same filter); the file loads beside the Explorer's model."""
        from advlens.main_window import model_filter

        path, _ = QFileDialog.getOpenFileName(self.parent, "Add a model file", "",
                                              model_filter(self.state.explorer.model_suffixes()))
        if path:
            self.state.add_model_file(path)

    def show_transfer_models(self) -> None:
        candidates = self.state.candidates()
        choice = self.state.choice
        rows = [(c.identity, c.label if c.title in (c.label, c.spec) else f"{c.label} — {c.title}", c.title,
                 choice.is_checked(c)) for c in candidates]
        ready = any(checked for *_rest, checked in rows)
        why = ("No other model to compare with: add a model file" if not rows else
               "Check at least one other model for the transfer table")
        model = self.state.explorer.model
        self.panel.set_transfer_models(rows, ready, "" if ready else why,
                                       model.display_name if model is not None else "the Explorer's model")

    def finish(self, kind: str, result: Any) -> None:
        self.panel.set_busy(False)
        self.panel.task.finish()
        self.show(kind, result)
        self.panel.summary.setText(summary_text(kind, result, ""))

    def fail(self, message: str) -> None:
        self.panel.task.stop("cancelled" if message.startswith("cancelled") else "stopped")
        self.panel.set_busy(False)
        self.panel.summary.setText(f"Analysis stopped: {message}")

    def show(self, kind: str, result: Any) -> None:
        p = self.panel
        if kind == "sweep":
            linf = result.norm == "linf"
            p.robust_view.set_curve(result.eps, result.accuracy, "/255" if linf else result.norm.upper(),
                                    255.0 if linf else 1.0)
        elif kind == "minimal":
            values = np.asarray(result.norms, dtype=float)
            scale, label = (255.0, "minimal Linf (/255)") if result.norm == "linf" else (1.0, f"minimal {result.norm.upper()}")
            p.histogram_view.set_values(values * scale, label)
        elif kind == "landscape":
            p.landscape_view.set_landscape(result.alphas, result.betas, result.loss, result.prediction,
                                           result.adversarial_point)
        elif kind == "noise":
            p.noise_view.set_groups(["fooled"], {
                "attack": ([result.adversarial_fooled], ATTACK_COLOUR),
                "Gaussian, same L2": ([result.gaussian_fooled], GAUSS_COLOUR),
                "uniform, same Linf": ([result.uniform_fooled], UNIFORM_COLOUR),
            })
        elif kind == "transfer":
            p.transfer_view.set_table(result.models, result.success)
        elif kind == "frequency":
            bands = len(result["perturbation"])
            names = [f"band {i + 1}" for i in range(bands - 1)] + ["coarse"]
            p.frequency_view.set_groups(names, {"image": (result["image"], IMAGE_COLOUR),
                                                "perturbation": (result["perturbation"], ATTACK_COLOUR)})
