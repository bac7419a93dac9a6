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
        state.started.connect(lambda kind: panel.set_busy(True, kind))
        state.progressed.connect(panel.set_progress)
        state.partial.connect(self.show)
        state.finished.connect(self.finish)
        state.failed.connect(self.fail)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.parent, "Folder of images")
        self.panel.set_folder(folder)

    def finish(self, kind: str, result: Any) -> None:
        self.panel.set_busy(False)
        self.panel.task.finish()
        self.show(kind, result)
        self.panel.summary.setText(summary_text(kind, result, ""))

    def fail(self, message: str) -> None:
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
