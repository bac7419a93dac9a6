"""Runs the Analysis tab's analyses in the engine process and hands their plain results to the view.

Partial results (a robust-accuracy curve growing one epsilon at a time) are read by a timer from the
job's progress mailbox, as the Explorer reads attack steps. What to compute is plain data (an
`AnalysisJob`): the engine holds the model, renders or reads the images and runs the attacks.
The transfer table compares the attacked model with the models the person checked (transfer_models.py);
a file added for it loads through the Explorer's model library, beside the Explorer's model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from advlens.engine.analysis.requests import AnalysisRequest
from advlens.engine.config import AttackConfig
from advlens.engine.errors import AdvLensError
from advlens.engine.jobs import JobOutcome
from advlens.engine.model_names import model_identity, model_label
from advlens.engine.protocol import AnalysisJob
from advlens.model_library import EXPLORER_KEY
from advlens.state import ExplorerState
from advlens.sweep_settings import sweep_scheduler
from advlens.task_poller import TaskPoller
from advlens.transfer_models import TransferCandidate, TransferChoice, transfer_candidates

SIDE_PREFIX = "transfer/"  # the engine keys of files added for the transfer table


class AnalysisState(TaskPoller):
    """The Analysis tab's state: which analysis runs, its progress, its latest (partial) result."""

    started = Signal(str)
    partial = Signal(str, object)  # kind, engine result object (plain fields)
    finished = Signal(str, object)
    failed = Signal(str)
    progressed = Signal(int, int, object)  # done, total, eta seconds or None
    candidatesChanged = Signal()  # the transfer models that can be chosen, or the choice, changed
    note = Signal(str)  # a line about adding a transfer model

    def __init__(self, explorer: ExplorerState, parent: QObject | None = None):
        super().__init__(explorer.link, "analysis", parent=parent)
        self.explorer = explorer
        self.kind = ""
        self.last_result: Any = None
        self.choice = TransferChoice()
        self._side_count = 0
        library = explorer.library
        library.sideLoaded.connect(self._on_side_loaded)
        explorer.modelChanged.connect(self.candidatesChanged)

    # ------------------------------------------------------------------ transfer models
    def candidates(self) -> list[TransferCandidate]:
        """The models a transfer table can compare with the Explorer's (never the Explorer's itself)."""
        explorer = self.explorer
        info = explorer.link.info
        library = explorer.library
        added = {key: path for key, path in library.side_models.items() if key.startswith(SIDE_PREFIX)}
        return transfer_candidates(library.path_of(explorer.model_key) if explorer.model is not None else "",
                                   info.bundled_models if info else [], info.control_models if info else [],
                                   list(explorer.extra_models.values()), added)

    def checked_models(self) -> list[TransferCandidate]:
        return self.choice.checked(self.candidates())

    def set_checked(self, identity: str, checked: bool) -> None:
        self.choice.set_checked(identity, checked)
        self.candidatesChanged.emit()

    def add_model_file(self, path: str) -> bool:
        """Load a model file for the transfer table as the Explorer loads one (trust, card, refusals);
        it joins the list checked. A model listed already (or the attacked one) is not loaded twice."""
        identity = model_identity(path)
        explorer = self.explorer
        if explorer.model is not None and identity == model_identity(explorer.library.path_of(explorer.model_key)):
            self.note.emit(f"{model_label(path)} is the model attacked: the table compares it with the others")
            return False
        listed = next((c for c in self.candidates() if c.identity == identity), None)
        if listed is not None:
            self.set_checked(identity, True)
            self.note.emit(f"{model_label(path)} is listed already, as {listed.label}: checked")
            return False
        self._side_count += 1
        self.note.emit(f"Loading {model_label(path)}…")
        return explorer.library.load_side(path, explorer.config.device, f"{SIDE_PREFIX}{self._side_count}")

    def _on_side_loaded(self, key: str, path: str, _info) -> None:
        if not key.startswith(SIDE_PREFIX):
            return
        self.choice.set_checked(model_identity(path), True)
        self.note.emit(f"Added {model_label(path)}")
        self.candidatesChanged.emit()

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
                                  eps_range=options.get("eps_range", "0:16:1/255"), scheduler=sweep_scheduler())
        if kind == "landscape":
            if explorer.input is None:
                raise AdvLensError("open an image in the Explorer first")
            request.pixels = np.ascontiguousarray(explorer.input.transpose(2, 0, 1))  # as the Explorer shows it
            request.label = explorer.label
        if kind == "transfer":
            request.other_models = [candidate.spec for candidate in self.checked_models()]
            if not request.other_models:
                raise AdvLensError("check at least one other model for the transfer table")
        return request.checked()

    def start(self, kind: str, options: dict) -> bool:
        explorer = self.explorer
        if explorer.model is None:
            self.failed.emit("open a model first")
            return False
        try:
            request = self.request(kind, options)
        except AdvLensError as exc:
            self.failed.emit(str(exc))
            return False
        chosen = {candidate.spec: candidate for candidate in self.checked_models()}
        specs = {spec: spec for spec in request.other_models}
        loaded = {spec: chosen[spec].engine_key for spec in request.other_models
                  if spec in chosen and chosen[spec].engine_key}
        self.launch(AnalysisJob(request, EXPLORER_KEY, specs, loaded))
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
