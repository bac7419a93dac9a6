"""Robust accuracy against epsilon, and the minimal perturbation per image."""

from __future__ import annotations

from dataclasses import replace

import torch

from ..batches import batches as _batches
from ..catalogue import attack_spec, check_attack
from ..config import AttackConfig
from ..diagnostics.options import DiagnosticsOptions
from ..diagnostics.runs import diagnose_sweep_point, sweep_probes
from ..errors import ConfigError
from ..executor import Executor, JobGroup, SweepJob, array_of, finished
from ..jobs import Progress, stop_flag
from ..model import Model
from ..norms import lp_norm
from .results import MinimalNorms, RobustCurve


def robust_accuracy_curve(model: Model, images: torch.Tensor, labels: torch.Tensor, config: AttackConfig,
                          eps_list: list[float], progress: Progress | None = None, batch: int = 64,
                          executor: Executor | None = None,
                          diagnostics: DiagnosticsOptions | None = None) -> RobustCurve:
    """One job per epsilon on `executor` (default: an in-process pool for this call); the curve is
    reported in epsilon order as jobs finish, because each point depends on the smaller epsilons.

    With `diagnostics`, each point also counts the images that triggered each indicator of attack
    failure (the probes run once, on the clean images, while the jobs run)."""
    config = check_attack(config)
    if attack_spec(config.attack).is_minimal:
        raise ConfigError(f"{attack_spec(config.attack).title} is a minimal-norm attack: use 'minimal' instead")
    with torch.no_grad():
        clean_pred = torch.cat([model(images[p].to(model.device)).argmax(1).cpu() for p in _batches(len(images), batch)])
    robust = clean_pred == labels
    curve = RobustCurve(clean_accuracy=float(robust.float().mean()), images=len(images), attack=config.attack,
                        norm=config.norm)
    ordered = sorted(eps_list)
    with JobGroup(executor, stop_flag(progress)) as jobs:
        key = jobs.register_model(model)
        x, y = array_of(images), array_of(labels)
        futures = [jobs.submit(SweepJob(key, replace(config, eps=eps).to_dict(), x, y, seed=config.seed,
                                        batch=batch, keep_adversarial=False, tag=f"eps={eps:.6g}",
                                        keep_metrics=diagnostics is not None))
                   if eps > 0 else finished(None) for eps in ordered]
        probes = None
        if diagnostics is not None:
            probes = sweep_probes(model, images, labels, config, diagnostics, stop_flag(progress))
        for i, (eps, result) in enumerate(zip(ordered, jobs.in_order(futures), strict=True)):
            if result is not None:
                robust = robust & ~torch.from_numpy(result.success)
            if diagnostics is not None:
                point = (diagnose_sweep_point(replace(config, eps=eps), result.success, result.metrics,
                                              result.norms, probes, model.num_classes) if result is not None else None)
                curve.diagnostics.append({"eps": eps, "counts": point.counts() if point else {},
                                          "fired": [d.to_dict() for d in point.fired()] if point else []})
            curve.eps.append(eps)
            curve.accuracy.append(float(robust.float().mean()))
            if progress is not None:
                progress.report(i + 1, len(eps_list), curve)
    return curve


def minimal_perturbations(model: Model, images: torch.Tensor, labels: torch.Tensor, config: AttackConfig,
                          progress: Progress | None = None, batch: int = 32,
                          executor: Executor | None = None) -> MinimalNorms:
    """One job per batch of correctly classified images, reported in order as they finish."""
    config = check_attack(config)
    if not attack_spec(config.attack).is_minimal:
        raise ConfigError(f"{attack_spec(config.attack).title} is not a minimal-norm attack (use fmn, deepfool or cw)")
    with torch.no_grad():
        correct = torch.cat([(model(images[p].to(model.device)).argmax(1).cpu() == labels[p])
                             for p in _batches(len(images), batch)])
    x, y = images[correct], labels[correct]
    norms: list[float] = []
    success: list[bool] = []
    parts = list(_batches(len(x), batch))
    with JobGroup(executor, stop_flag(progress)) as jobs:
        key = jobs.register_model(model)
        futures = [jobs.submit(SweepJob(key, config.to_dict(), array_of(x[part]), array_of(y[part]),
                                        seed=config.seed, batch=batch,
                                        tag=f"images {part.start}:{part.stop}")) for part in parts]
        for i, (part, result) in enumerate(zip(parts, jobs.in_order(futures), strict=True)):
            adv, ok = torch.from_numpy(result.adversarial), torch.from_numpy(result.success)
            values = lp_norm(adv - x[part], config.norm)
            norms += [float(v) if s else float("nan") for v, s in zip(values, ok, strict=True)]
            success += [bool(s) for s in ok]
            if progress is not None:
                progress.report(i + 1, len(parts), MinimalNorms(config.norm, config.attack, list(norms),
                                                                list(success), int((~correct).sum())))
    return MinimalNorms(config.norm, config.attack, norms, success, int((~correct).sum()))
