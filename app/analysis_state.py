"""Runs the analyses for the Analysis tab on the engine's task runner and hands plain results to the view.

Partial results (a robust-accuracy curve growing one epsilon at a time) are read by a timer from the
task's progress mailbox, as the Explorer reads attack steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from advlens.engine import AdvLensError, AttackConfig, load_model
from advlens.engine.analysis import AnalysisRequest, run_analysis
from advlens.engine.loaders import control_models
from advlens.engine.tasks import TaskOutcome
from advlens.state import ExplorerState
from advlens.task_poller import TaskPoller


class AnalysisState(TaskPoller):
    """The Analysis tab's state: which analysis runs, its progress, its latest (partial) result."""

    started = Signal(str)
    partial = Signal(str, object)  # kind, engine result object (plain fields)
    finished = Signal(str, object)
    failed = Signal(str)
    progressed = Signal(int, int, object)  # done, total, eta seconds or None

    def __init__(self, explorer: ExplorerState, parent: QObject | None = None):
        super().__init__(parent=parent)
        self.explorer = explorer
        self.kind = ""
        self.last_result: Any = None

    def request(self, kind: str, options: dict) -> AnalysisRequest:
        """The tab's settings as an analysis request: the images it names, the Explorer's model and
        attack (the minimal-norm analyses use the tab's own minimal attack), the Explorer's image for
        the landscape."""
        explorer = self.explorer
        if kind in ("minimal", "landscape"):
            attack = AttackConfig(attack=options["minimal_attack"], norm=options["minimal_norm"], steps=100,
                                  seed=explorer.config.attack.seed)
        else:
            attack = explorer.config.attack
        if options.get("source") == "folder":
            if not options.get("folder"):
                raise AdvLensError("choose a folder of images first")
            images = str(options["folder"])
        else:
            images = f"demo:{int(options['count'])}"
        request = AnalysisRequest(kind, model=explorer.model_key, images=images,
                                  resolution=int(options["resolution"]), attack=attack, fit=explorer.config.fit,
                                  eps_range=options.get("eps_range", "0:16:1/255"))
        if kind == "landscape":
            image = explorer.current_input()
            if image is None:
                raise AdvLensError("open an image in the Explorer first")
            request.pixels, request.label = image.numpy(), explorer.label
        if kind == "transfer":
            controls = set(control_models().values())  # each good at one size only: not transfer targets
            request.other_models = [key for key, _title in explorer.model_choices()
                                    if key != explorer.model_key and key not in controls]
        return request.checked()

    def start(self, kind: str, options: dict) -> bool:
        model = self.explorer.model
        if model is None:
            self.failed.emit("open a model first")
            return False
        try:
            request = self.request(kind, options)
            others = {key: load_model(self.explorer.extra_models.get(key, key), self.explorer.device)
                      for key in request.other_models}
            self.launch(run_analysis, request, model, others)
        except AdvLensError as exc:
            self.failed.emit(str(exc))
            return False
        self.kind = kind
        self.started.emit(kind)
        return True

    def on_progress(self, done: int, total: int, eta: float | None, partial: Any) -> None:
        self.progressed.emit(done, total, eta)
        if partial is not None:
            self.partial.emit(self.kind, partial)

    def on_outcome(self, outcome: TaskOutcome) -> None:
        if outcome.kind == "finished":
            self.last_result = outcome.result
            self.finished.emit(self.kind, outcome.result)
        elif outcome.kind == "cancelled":
            self.failed.emit("cancelled: the plot shows what finished before")
        else:
            self.failed.emit(outcome.message)


def summary_text(kind: str, result: Any, norm: str) -> str:
    """One sentence for the banner above the plot."""
    if kind == "sweep":
        unit = "/255" if result.norm == "linf" else ""
        scale = 255 if result.norm == "linf" else 1
        last = result.eps[-1] * scale if result.eps else 0
        return (f"{result.attack.upper()} {result.norm}: clean {result.clean_accuracy:.0%} → "
                f"{result.accuracy[-1]:.0%} at ε={last:.3g}{unit} over {result.images} images")
    if kind == "minimal":
        found = result.found()
        return (f"{result.attack.upper()} {result.norm}: median minimal perturbation {result.median():.4g} "
                f"({len(found)} of {len(result.norms)} fooled; {result.skipped} misclassified already, skipped)")
    if kind == "landscape":
        return (f"Loss around the image: the red star is the adversarial example at L2 "
                f"{result.adversarial_point[0]:.3g}; shaded cells change the class")
    if kind == "noise":
        return (f"The attack fooled {result.adversarial_fooled:.0%}; noise of the same size fooled "
                f"{result.gaussian_fooled:.0%} (Gaussian, same L2) and {result.uniform_fooled:.0%} (uniform, same Linf)")
    if kind == "transfer":
        return f"Transfer over {result.images} images every model classifies correctly"
    if kind == "frequency":
        p = np.asarray(result["perturbation"])
        return f"Perturbation energy in the finest band: {p[0]:.0%} (the image's: {result['image'][0]:.0%})"
    return ""
