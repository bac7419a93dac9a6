"""Runs the Analysis tab's analyses in the engine process and hands their plain results to the view.

Partial results (a robust-accuracy curve growing one epsilon at a time) are read by a timer from the
job's progress mailbox, as the Explorer reads attack steps. What to compute is plain data (an
`AnalysisJob`): the engine holds the model, renders or reads the images and runs the attacks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from advlens.engine.catalogue import attack_spec
from advlens.engine.config import AttackConfig
from advlens.engine.jobs import JobOutcome
from advlens.engine.protocol import AnalysisJob
from advlens.model_library import EXPLORER_KEY
from advlens.state import ExplorerState
from advlens.task_poller import TaskPoller

KINDS = ("sweep", "minimal", "landscape", "noise", "transfer", "frequency")


def analysis_attacks(explorer: AttackConfig, minimal_attack: str, minimal_norm: str) -> tuple[AttackConfig, AttackConfig]:
    """(the attack at a budget, the minimal-norm attack) an analysis uses: the Explorer's attack (PGD when
    that is a minimal-norm one) and the tab's minimal-norm choice."""
    if attack_spec(explorer.attack).is_minimal:
        attack = AttackConfig(attack="pgd", norm="linf", eps=explorer.eps or 8 / 255, steps=20, seed=explorer.seed)
    else:
        attack = replace(explorer, target=None, params=dict(explorer.params))
    minimal = AttackConfig(attack=minimal_attack, norm=minimal_norm, steps=100, seed=explorer.seed)
    if minimal.attack == "cw":
        minimal = replace(minimal, norm="l2")
    return attack, minimal


class AnalysisState(TaskPoller):
    """The Analysis tab's state: which analysis runs, its progress, its latest (partial) result."""

    started = Signal(str)
    partial = Signal(str, object)  # kind, engine result object (plain fields)
    finished = Signal(str, object)
    failed = Signal(str)
    progressed = Signal(int, int, object)  # done, total, eta seconds or None

    def __init__(self, explorer: ExplorerState, parent: QObject | None = None):
        super().__init__(explorer.link, "analysis", parent=parent)
        self.explorer = explorer
        self.kind = ""
        self.last_result: Any = None

    def start(self, kind: str, options: dict) -> bool:
        explorer = self.explorer
        if explorer.model is None:
            self.failed.emit("open a model first")
            return False
        if kind not in KINDS:
            self.failed.emit(f"unknown analysis '{kind}'")
            return False
        if kind == "landscape" and explorer.image_source is None:
            self.failed.emit("open an image in the Explorer first")
            return False
        attack, minimal = analysis_attacks(explorer.config.attack, options["minimal_attack"], options["minimal_norm"])
        transfer = {}
        if kind == "transfer":
            controls = set(explorer.link.info.control_models) if explorer.link.info else set()
            for key, _title in explorer.model_choices():
                if key != explorer.model_key and key not in controls:  # each control is good at one size only
                    transfer[key] = explorer.extra_models.get(key, key)
        self.launch(AnalysisJob(kind=kind, model=EXPLORER_KEY, options=dict(options), attack=attack.to_dict(),
                                minimal=minimal.to_dict(), image=explorer.image_source,
                                resolution=explorer.config.resolution, label=explorer.label,
                                transfer_models=transfer))
        self.kind = kind
        self.started.emit(kind)
        return True

    def on_progress(self, done: int, total: int, eta: float | None, partial: Any) -> None:
        self.progressed.emit(done, total, eta)
        if partial is not None:
            self.partial.emit(self.kind, partial)

    def on_outcome(self, outcome: JobOutcome) -> None:
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
