"""Runs the analyses for the Analysis tab on the engine's task runner and hands plain results to the view.

Partial results (a robust-accuracy curve growing one epsilon at a time) are read by a timer from the
task's progress mailbox, as the Explorer reads attack steps.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal

from advlens.engine import AdvLensError, AttackConfig, load_model
from advlens.engine import analysis as an
from advlens.engine.analysis.imagesets import ImageSet
from advlens.engine.catalogue import attack_spec
from advlens.engine.model import control_models
from advlens.engine.tasks import TaskOutcome
from advlens.engine.units import parse_eps_range
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

    def _image_set(self, options: dict) -> ImageSet:
        size = int(options["resolution"])
        if options["source"] == "folder":
            if not options.get("folder"):
                raise AdvLensError("choose a folder of images first")
            return an.folder_image_set(options["folder"], size, limit=2000)
        return an.demo_image_set(int(options["count"]), size)

    def _explorer_attack(self) -> AttackConfig:
        config = self.explorer.config.attack
        if attack_spec(config.attack).is_minimal:
            return AttackConfig(attack="pgd", norm="linf", eps=config.eps or 8 / 255, steps=20, seed=config.seed)
        return replace(config, target=None, params=dict(config.params))

    def start(self, kind: str, options: dict) -> bool:
        model = self.explorer.model
        if model is None:
            self.failed.emit("open a model first")
            return False
        try:
            minimal = AttackConfig(attack=options["minimal_attack"], norm=options["minimal_norm"], steps=100,
                                   seed=self.explorer.config.attack.seed)
            if minimal.attack == "cw":
                minimal = replace(minimal, norm="l2")
            if kind == "landscape":
                image = self.explorer.current_input()
                if image is None:
                    raise AdvLensError("open an image in the Explorer first")
                label = self.explorer.label
                if label is None:
                    with torch.no_grad():
                        label = int(model(image[None].to(model.device)).argmax())
                self.launch(an.adversarial_landscape, model, image, label, replace(minimal, norm="l2"))
            else:
                data = self._image_set(options)
                labels = data.labels_for(model)
                attack = self._explorer_attack()
                if kind == "sweep":
                    eps = parse_eps_range(options["eps_range"])
                    self.launch(an.robust_accuracy_curve, model, data.images, labels, attack, eps)
                elif kind == "minimal":
                    self.launch(an.minimal_perturbations, model, data.images, labels, minimal)
                elif kind == "noise":
                    self.launch(an.noise_vs_attack, model, data.images, labels, attack)
                elif kind == "transfer":
                    models = {self.explorer.model_key: model}
                    # each good at one size only: not transfer targets
                    controls = {name for names in control_models().values() for name in names}
                    for key, _title in self.explorer.model_choices():
                        if key != self.explorer.model_key and key not in controls:
                            path = self.explorer.extra_models.get(key, key)
                            models[key] = load_model(path, self.explorer.device)
                    self.launch(an.transfer_table, models, data.images, labels, attack)
                elif kind == "frequency":
                    self.launch(an.frequency_comparison, model, data.images, labels, attack)
                else:
                    raise AdvLensError(f"unknown analysis '{kind}'")
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
