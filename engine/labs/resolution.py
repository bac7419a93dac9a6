"""The Resolution lab: do minimal adversarial perturbations shrink as image resolution grows (Dube)?

For each resolution s and each image: the same scene at s x s (rendered natively, or area-downsampled
from one photo), seen natively by the model; the smallest L2 and Linf perturbations a near-minimal
attack finds; their raw, relative, RMS norms; the input-gradient norms. Then paired log-log slopes
against s with bootstrap intervals, compared with what each reading of the claim predicts, and one
joint verdict (`readings`, SCIENCE.md).

Two model choices: one multi-resolution model for every size (the default, the demo), or the
per-resolution control, the models trained only at each size (`config.models`; the bundled demo-rN,
every training seed). This module runs the attacks; the config, scenes, results, slopes, readings and
words live in their own modules.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

import torch

from ..config import AttackConfig
from ..diagnostics.labs import resolution_lab_indicators
from ..errors import ConfigError
from ..executor import Executor, JobGroup, SweepJob, array_of, finished
from ..jobs import Progress
from ..loaders import load_model
from ..model import Model
from ..norms import lp_norm
from .resolution_config import (
    CPU_RESOLUTIONS,
    DEFAULT_RESOLUTIONS,
    PGD_BISECT_SEARCHES,
    ResolutionLabConfig,
)
from .resolution_results import CLEAN_METRICS, ConvergenceCheck, Measurement, ResolutionLabResult
from .resolution_scenes import (
    ResizedModel,
    clean_gradients,
    load_control_models,
    load_scenes,
    predictions,
    seen_at,
)
from .resolution_text import control_notes, convergence_note, model_notes, prediction_note

__all__ = ["CPU_RESOLUTIONS", "DEFAULT_RESOLUTIONS", "Measurement", "ResizedModel", "ResolutionLabConfig",
           "ResolutionLabResult", "attack_config", "run_resolution_lab"]


def attack_config(config: ResolutionLabConfig, norm: str, steps: int | None = None) -> AttackConfig:
    """The near-minimal attack for one norm: FMN, DeepFool, or the catalogue's PGD with a bisection on the
    budget (PGD_BISECT_SEARCHES budgets of steps // 5 PGD steps each, so the gradient count matches)."""
    steps = config.steps if steps is None else steps
    if config.attack == "pgd-bisect":
        return AttackConfig(attack="pgd-bisect", norm=norm, steps=max(steps // 5, 5), seed=config.seed,
                            params={"binary_steps": PGD_BISECT_SEARCHES})
    return AttackConfig(attack=config.attack, norm=norm, steps=steps, seed=config.seed)


@dataclass
class _Pending:
    """One resolution and seed: its images, clean measurements and submitted jobs, until read."""

    size: int
    replicate: int
    model: Model
    correct: torch.Tensor
    preds: torch.Tensor
    idx: torch.Tensor
    x: torch.Tensor
    clean: dict[str, torch.Tensor]
    futures: list
    checks: list  # (norm, future) of the doubled-steps re-run on a subset


class _LabRun:
    """The state of one run: which models see which size, the jobs in flight, the result built up."""

    def __init__(self, config: ResolutionLabConfig, model: Model | None, progress: Progress | None):
        self.progress = progress
        if config.per_resolution:
            if model is not None:
                raise ConfigError("per-resolution mode loads the models trained at each size: pass no single model")
            loaded, missing = load_control_models(config)
            config = replace(config, resolutions=sorted(loaded))
            self.by_size = {s: [seen_at(m, s)[0] for m in ms] for s, ms in loaded.items()}
            modes = {seen_at(m, s)[1] for s, ms in loaded.items() for m in ms}
            mode = "resize" if "resize" in modes else "native"
            title = "per-resolution models (" + ", ".join(
                f"{s} px: {' + '.join(m.card.name for m in ms)}" for s, ms in loaded.items()) + ")"
            notes = control_notes(loaded, missing, config)
        else:
            model, mode = seen_at(model if model is not None else load_model(config.model, config.device))
            self.by_size, missing, title = {s: [model] for s in config.resolutions}, [], model.card.name
            notes = model_notes(model, mode, config)
        self.config = config
        self.scenes = load_scenes(config)
        replicates = max(len(ms) for ms in self.by_size.values())
        self.result = ResolutionLabResult(config, title, mode, notes, self.scenes.names, missing_models=missing,
                                          models={s: [m.card.name for m in ms] for s, ms in self.by_size.items()},
                                          replicates=replicates)
        self.result.total = sum(len(ms) for ms in self.by_size.values()) * len(config.norms)
        self.check_sizes = {config.resolutions[0], config.resolutions[-1]} if config.convergence_images else set()
        self.preds: dict[tuple[int, int], torch.Tensor] = {}
        self.measured: dict[int, int] = {}

    def prepare(self, jobs: JobGroup, keys: dict[int, str], size: int, x_all: torch.Tensor,
                replicate: int) -> _Pending:
        """Clean predictions and gradients of one size on one seed's model; submit its attack jobs."""
        cfg, model = self.config, self.by_size[size][replicate]
        preds = predictions(model, x_all, cfg.batch)
        labels = self.scenes.labels if self.scenes.labels is not None else preds  # unlabelled: its own prediction
        correct = preds == labels
        idx = correct.nonzero()[:, 0]
        x, y = x_all[idx], labels[idx]
        clean = ({k: v.cpu() for k, v in clean_gradients(model, x.to(model.device), y.to(model.device)).items()}
                 if len(idx) else {})
        key, tag = keys[id(model)], f"{size}px seed {replicate}"
        futures = [jobs.submit(SweepJob(key, attack_config(cfg, norm).to_dict(), array_of(x), array_of(y),
                                        seed=cfg.seed, batch=cfg.batch, tag=f"{tag} {norm}")) if len(idx)
                   else finished(None) for norm in cfg.norms]
        checks = []
        if size in self.check_sizes and replicate == 0 and len(idx):
            k = min(cfg.convergence_images, len(idx))
            for norm in cfg.norms:
                doubled = attack_config(cfg, norm, 2 * cfg.steps).to_dict()
                checks.append((norm, jobs.submit(SweepJob(key, doubled, array_of(x[:k]), array_of(y[:k]),
                                                          seed=cfg.seed, batch=cfg.batch, tag=f"{tag} {norm} x2"))))
        self.preds[(size, replicate)] = preds
        return _Pending(size, replicate, model, correct, preds, idx, x, clean, futures, checks)

    def measure(self, jobs: JobGroup, p: _Pending) -> None:
        """Read one size and seed's results into measurements, refit, report."""
        result, cfg = self.result, self.config
        result.skipped[p.size] = result.skipped.get(p.size, 0) + int((~p.correct).sum())
        self.measured[p.size] = done = self.measured.get(p.size, 0) + 1  # seeds read at this size so far
        previous = result.clean_accuracy.get(p.size, 0.0) * (done - 1)
        result.clean_accuracy[p.size] = (previous + float(p.correct.float().mean())) / done
        for norm, future in zip(cfg.norms, p.futures, strict=True):
            found = jobs.result(future)
            if found is not None:
                self._record(p, norm, torch.from_numpy(found.adversarial), torch.from_numpy(found.success))
            nan = math.nan
            for i in (~p.correct).nonzero()[:, 0].tolist():
                result.measurements.append(Measurement(self.scenes.names[i], p.size, norm, False, False, nan, nan,
                                                       nan, nan, model=p.model.card.name, replicate=p.replicate,
                                                       prediction=int(p.preds[i])))
            result.done += 1
            result.diagnostics = resolution_lab_indicators(result.measurements)
            result.refit()
            if self.progress is not None:
                self.progress.report(result.done, result.total, result)
        for norm, future in p.checks:
            doubled = jobs.result(future)
            k = len(doubled.success)
            first = [m for m in result.measurements if m.resolution == p.size and m.norm == norm
                     and m.replicate == 0 and m.correct][:k]
            both = [(m.l2 if norm == "l2" else m.linf, v) for m, v, ok in
                    zip(first, doubled.norms[norm], doubled.success, strict=True) if m.success and ok]
            if both:  # the images both runs found an adversarial for
                once, twice = torch.tensor(both).T
                result.convergence.append(ConvergenceCheck(p.size, norm, len(both), float(once.median()),
                                                           float(twice.median()), 2 * cfg.steps))

    def _record(self, p: _Pending, norm: str, adv: torch.Tensor, ok: torch.Tensor) -> None:
        """The measurements of one size, seed and norm for the correctly classified images, and the strip."""
        result, names = self.result, self.scenes.names
        delta = adv - p.x
        l2, linf = lp_norm(delta, "l2"), lp_norm(delta, "linf")
        xnorm = lp_norm(p.x, "l2")
        values = math.sqrt(p.x[0].numel())
        for k, i in enumerate(p.idx.tolist()):
            found, nan = bool(ok[k]), math.nan
            reach = float(l2[k] if norm == "l2" else linf[k])
            result.measurements.append(Measurement(
                names[i], p.size, norm, True, found,
                float(l2[k]) if found else nan, float(l2[k] / xnorm[k]) if found else nan,
                float(l2[k]) / values if found else nan, float(linf[k]) if found else nan,
                **{name: float(p.clean[name][k]) for name in CLEAN_METRICS}, model=p.model.card.name,
                replicate=p.replicate, reached=nan if found else reach, image_l2=float(xnorm[k]),
                prediction=int(p.preds[i])))
        if norm == "l2" and p.replicate == 0 and bool(ok.any()):
            if not result.strip_image:
                result.strip_image = names[int(p.idx[int(ok.nonzero()[0, 0])])]
            pick = [k for k, i in enumerate(p.idx.tolist()) if names[i] == result.strip_image]
            if pick and bool(ok[pick[0]]):
                result.strip[p.size] = delta[pick[0]].numpy()

    def finish(self) -> ResolutionLabResult:
        result = self.result
        result.refit(boot=self.config.bootstrap)
        if self.scenes.labels is None:
            changed = []
            for r in range(result.replicates):
                by_size = [self.preds[(s, r)] for s in self.config.resolutions if (s, r) in self.preds]
                if len(by_size) > 1:
                    stacked = torch.stack(by_size)
                    changed.append((stacked != stacked[:1]).any(0).float())
            if changed:
                result.prediction_changes = float(torch.cat(changed).mean())
        for note in (convergence_note(result.convergence),
                     prediction_note(result.prediction_changes, len(self.scenes.names))):
            if note:
                result.notes.append(note)
        return result


def run_resolution_lab(config: ResolutionLabConfig, model: Model | None = None,
                       progress: Progress | None = None,
                       executor: Executor | None = None) -> ResolutionLabResult:
    """Measure every (image, resolution, seed, norm), one executor job per resolution, seed and norm
    (default: an in-process pool for this call); report partial results after each, in order.

    One model sees every resolution (`model`, else `config.model`), or, with `config.models`, each
    resolution is attacked on the models trained at that size (the control); sizes without one are skipped.
    The next resolution is rendered and submitted while the current one's jobs run, so the executor is
    never idle and at most two resolutions' images are held at once.
    """
    run = _LabRun(config.validated(), model, progress)
    stop = (lambda: progress.cancelled) if progress is not None else None
    with JobGroup(executor, stop) as jobs:
        keys = {id(m): jobs.register_model(m) for ms in run.by_size.values() for m in ms}
        waiting: deque[list[_Pending]] = deque()
        for size in run.config.resolutions:
            if progress is not None:
                progress.check()
            x_all = run.scenes.render(size)
            waiting.append([run.prepare(jobs, keys, size, x_all, r) for r in range(len(run.by_size[size]))])
            if len(waiting) > 1:
                for pending in waiting.popleft():
                    run.measure(jobs, pending)
        while waiting:
            for pending in waiting.popleft():
                run.measure(jobs, pending)
    return run.finish()
