"""Cheap probes of the model where a run's telemetry cannot tell why an attack failed.

- Gradients of the attack's own objective at the image and at the returned point: finite? how much
  of the input do they touch? and, for the cross-entropy, the margin's gradient beside it (a flat
  cross-entropy with a live margin is a saturated softmax, not a masked model).
- The output under noise: does it change at all under noise of 8/255 (a constant output can never
  be fooled), does it change a lot under tiny noise of 1/255 (unstable, randomised or shattered), and
  do two evaluations of the same input agree (a randomised model)?
- A DeepFool cross-check: a different, cheap attack on the same images, whose perturbation norm a
  fixed-budget attack's failure or a minimal-norm attack's result can be compared with.
Results are plain lists, one value per image, so they travel between processes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

from ..attacks import AttackRun, make_attack
from ..attacks.apgd import dlr_loss
from ..catalogue import attack_spec
from ..config import AttackConfig
from ..criteria import Misclassification, make_criterion
from ..errors import Cancelled
from ..norms import lp_norm
from .options import DiagnosticsOptions


def objective_name(config: AttackConfig) -> str:
    """The quantity the attack follows the gradient of: 'ce', 'dlr', 'margin' or 'scores' (no gradient)."""
    spec = attack_spec(config.attack)
    if not spec.needs_gradients:
        return "scores"
    if config.attack == "apgd-dlr":
        return "dlr"
    return "margin" if spec.is_minimal else "ce"


@dataclass
class ProbeResults:
    """Per image (lists of equal length); NaN or False where a probe did not run."""

    objective: str
    gradient_finite: list[bool] = field(default_factory=list)
    gradient_coverage: list[float] = field(default_factory=list)  # share of input values with a nonzero gradient
    gradient_norm: list[float] = field(default_factory=list)  # L2 norm of the objective's gradient
    margin_gradient_coverage: list[float] = field(default_factory=list)
    responds: list[bool] = field(default_factory=list)  # the logits change under `response_noise`
    noise_change: list[float] = field(default_factory=list)  # mean |Δmargin| / |margin| under tiny noise, <= 1
    noise_flips: list[float] = field(default_factory=list)  # share of tiny-noise draws that change the prediction
    repeatable: list[bool] = field(default_factory=list)  # two evaluations of the input agree
    cross_ran: list[bool] = field(default_factory=list)
    cross_success: list[bool] = field(default_factory=list)
    cross_norm: list[float] = field(default_factory=list)  # DeepFool's perturbation, in the attack's norm
    cross_why: str = ""  # why the cross-check did not run, if it did not

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ProbeResults:
        return cls(**data)

    @property
    def probed(self) -> bool:
        return bool(self.gradient_coverage)


def _objective(name: str, criterion) -> Callable[[torch.Tensor], torch.Tensor]:
    if name == "dlr":
        return lambda logits: dlr_loss(logits, criterion.labels, criterion.target_classes)
    if name == "margin":
        return criterion.margin
    return criterion.loss


def _gradient(model, x: torch.Tensor, fn) -> torch.Tensor:
    xr = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(fn(model(xr)).sum(), xr, allow_unused=True)
    return torch.zeros_like(x) if grad is None else grad.detach()


def _coverage(grad: torch.Tensor) -> torch.Tensor:
    flat = grad.reshape(grad.shape[0], -1)
    return ((flat != 0) & torch.isfinite(flat)).float().mean(dim=1)


def _uniform(like: torch.Tensor, radius: float, generator: torch.Generator) -> torch.Tensor:
    u = torch.rand(like.shape, generator=generator, device=like.device, dtype=like.dtype)
    return (2 * u - 1) * radius


def gradient_probe(model, x: torch.Tensor, points: list[torch.Tensor], criterion, objective: str) -> dict:
    """Finite, coverage (min over the points) and norm of the objective's gradient; the margin's coverage."""
    fn = _objective(objective, criterion)
    finite = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    coverage = torch.ones(x.shape[0], device=x.device)
    norm = torch.full((x.shape[0],), math.inf, device=x.device)
    margin_cov = torch.ones(x.shape[0], device=x.device)
    for point in points:
        grad = _gradient(model, point, fn)
        finite &= torch.isfinite(grad.reshape(grad.shape[0], -1)).all(dim=1)
        coverage = torch.minimum(coverage, _coverage(grad))
        norm = torch.minimum(norm, lp_norm(torch.nan_to_num(grad, nan=0.0, posinf=0.0, neginf=0.0), "l2"))
        if objective == "margin":
            margin_cov = coverage.clone()
        else:
            margin_cov = torch.minimum(margin_cov, _coverage(_gradient(model, point, criterion.margin)))
    return {"gradient_finite": finite, "gradient_coverage": coverage, "gradient_norm": norm,
            "margin_gradient_coverage": margin_cov}


@torch.no_grad()
def noise_probe(model, x: torch.Tensor, criterion, options: DiagnosticsOptions,
                generator: torch.Generator) -> dict:
    """How the output answers noise: at all (response noise), a lot (tiny noise), the same twice?"""
    logits = model(x)
    again = model(x)
    repeatable = torch.isclose(logits, again, rtol=1e-4, atol=1e-5).all(dim=1)
    margin = criterion.margin(logits)
    pred = logits.argmax(dim=1)
    scale = margin.abs().clamp_min(1e-12)
    change = torch.zeros_like(margin)
    flips = torch.zeros_like(margin)
    responds = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
    draws = max(1, int(options.noise_draws))
    for _ in range(draws):
        noisy = model((x + _uniform(x, options.tiny_noise, generator)).clamp(0, 1))
        change += ((criterion.margin(noisy) - margin).abs() / scale).clamp(max=1.0)
        flips += (noisy.argmax(dim=1) != pred).float()
    for _ in range(max(1, draws // 4)):
        far = model((x + _uniform(x, options.response_noise, generator)).clamp(0, 1))
        responds |= (far != logits).any(dim=1)
    return {"noise_change": change / draws, "noise_flips": flips / draws, "responds": responds,
            "repeatable": repeatable}


def cross_check(model, x: torch.Tensor, labels: torch.Tensor, norm: str, options: DiagnosticsOptions,
                should_stop: Callable[[], bool] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """DeepFool (untargeted, 2% overshoot, the few most likely classes) on the images: (success,
    perturbation norm in `norm`). Each step costs a backward pass per class considered, so few are."""
    classes = int(model(x[:1]).shape[1]) if len(x) else 2
    candidates = min(int(options.cross_check_classes), max(classes, 2))
    config = AttackConfig(attack="deepfool", norm=norm, steps=int(options.cross_check_steps),
                          params={"overshoot": 0.02, "candidates": candidates})
    generator = torch.Generator(device=x.device).manual_seed(options.seed)
    run = AttackRun(make_attack(config), model, x, Misclassification(labels), generator)
    result = run.run_to_end(should_stop)
    with torch.no_grad():
        adversarial = Misclassification(labels).is_adversarial(model(result.x_adv))
    return adversarial, lp_norm(result.x_adv - x, norm)


def cross_check_reason(config: AttackConfig, gradients_available: bool = True) -> str:
    """Why DeepFool cannot cross-check this run ('' if it can)."""
    if config.attack == "deepfool":
        return "the attack is DeepFool itself"
    if config.target is not None:
        return "DeepFool is untargeted and this run is targeted"
    if config.norm not in attack_spec("deepfool").norms:
        return f"DeepFool has no {config.norm} version"
    if not gradients_available:
        return "the model gives no gradients"
    return ""


def run_probes(model, x: torch.Tensor, x_adv: torch.Tensor, labels: torch.Tensor, config: AttackConfig,
               success: torch.Tensor, options: DiagnosticsOptions | None = None,
               should_stop: Callable[[], bool] | None = None) -> ProbeResults:
    """Every probe on a batch of images (on the model's device), batch by batch."""
    options = options or DiagnosticsOptions()
    objective = objective_name(config)
    n = x.shape[0]
    out = ProbeResults(objective)
    if not options.probes or n == 0:
        return out
    device = model.device if hasattr(model, "device") else x.device
    generator = torch.Generator(device=device).manual_seed(options.seed)
    gradients_available = bool(getattr(model, "gradients_available", True))
    why = cross_check_reason(config, gradients_available) if options.cross_check else "switched off"
    spec = attack_spec(config.attack)
    parts: dict[str, list[torch.Tensor]] = {}
    for start in range(0, n, max(1, options.batch)):
        if should_stop is not None and should_stop():
            raise Cancelled("cancelled")
        sl = slice(start, min(n, start + options.batch))
        xb, ab, yb = x[sl].to(device), x_adv[sl].to(device), labels[sl].to(device)
        criterion = make_criterion(yb, config.target)
        found: dict[str, torch.Tensor] = {}
        if objective != "scores" and gradients_available:
            found |= gradient_probe(model, xb, [xb, ab], criterion, objective)
        found |= noise_probe(model, xb, criterion, options, generator)
        for key, value in found.items():
            parts.setdefault(key, []).append(value.detach().cpu())
    for key, chunks in parts.items():
        values = torch.cat(chunks)
        setattr(out, key, [bool(v) for v in values] if values.dtype == torch.bool else [float(v) for v in values])
    if objective == "scores" or not gradients_available:
        out.gradient_finite, out.gradient_coverage = [True] * n, [math.nan] * n
        out.gradient_norm, out.margin_gradient_coverage = [math.nan] * n, [math.nan] * n
    out.cross_ran, out.cross_success, out.cross_norm = [False] * n, [False] * n, [math.nan] * n
    out.cross_why = why
    if not why:
        # a fixed-budget attack is cross-checked where it failed; a minimal-norm one everywhere
        wanted = torch.ones(n, dtype=torch.bool) if spec.is_minimal else ~success.detach().cpu().bool()
        movable = torch.tensor([not c == 0 for c in out.margin_gradient_coverage], dtype=torch.bool)
        idx = (wanted & movable).nonzero()[:, 0]  # DeepFool cannot move where the logits' gradient is zero
        for start in range(0, len(idx), max(1, options.batch)):
            part = idx[start:start + options.batch]
            ok, norms = cross_check(model, x[part].to(device), labels[part].to(device), config.norm, options,
                                    should_stop)
            for k, i in enumerate(part.tolist()):
                out.cross_ran[i], out.cross_success[i] = True, bool(ok[k])
                out.cross_norm[i] = float(norms[k]) if bool(ok[k]) else math.nan
        if not len(idx):
            out.cross_why = ("the logits' gradient is zero, so DeepFool cannot move either" if bool(wanted.any())
                             else "the attack succeeded on every image")
    return out


def stability_indicators(net, points: torch.Tensor, distances_l2, distances_linf) -> dict[str, int]:
    """The Stability lab's counts for one network's measured points (float64): {'points', 'gradients'
    (the logit's input gradient is zero or not finite: PGD cannot leave a flat ReLU region),
    'unconstrained_failure' (no class change found in either norm, with no budget)}."""
    import numpy as np

    counts = {"points": int(len(points)), "gradients": 0, "unconstrained_failure": 0}
    if len(points) == 0:
        return counts
    x = points.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        logit = net.logit(x)
        grad = torch.autograd.grad(logit.sum(), x, allow_unused=True)[0] if logit.requires_grad else None
    if grad is None:
        counts["gradients"] = len(points)
    else:
        flat = grad.detach().reshape(len(points), -1)
        counts["gradients"] = int(((flat == 0).all(dim=1) | ~torch.isfinite(flat).all(dim=1)).sum())
    nothing = ~np.isfinite(np.asarray(distances_l2, float)) & ~np.isfinite(np.asarray(distances_linf, float))
    counts["unconstrained_failure"] = int(nothing.sum())
    return counts
