"""The fast mode: one whole gradient-sign step (forward, input gradient, direction, projection, success)
compiled once and replayed.

At batch 1 every eager implementation is bound by Python and kernel launches, not arithmetic
(`../shared/PERFORMANCE.md`: a captured ResNet-18 step ran 4.9x faster on an H100). `torch.compile`
captures the step: with mode "reduce-overhead" where CUDA graphs exist, so a step is one graph replay,
and the default mode elsewhere. On a CPU that only proves the path right (it compiles in ~30 s and runs
no faster). The step calls the same functions as the eager loop, in the same order, so results agree
with it within floating-point tolerance; the gradient comes from `torch.func.grad_and_value`, which the
compiler traces (a `torch.autograd.grad` call would split the graph).

Budgets enter as tensors, not Python floats, so a new epsilon or step size replays the same compiled
step instead of compiling another. Outputs of a CUDA-graph replay live in memory the next replay
overwrites: the loop keeps copies (`FastStep.__call__`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..norms import normalize_gradient, project, sparse_l1_direction

log = logging.getLogger(__name__)

_COMPILED: dict[str, Callable] = {}


def compile_mode(device: torch.device) -> str:
    """The torch.compile mode for a device: CUDA graphs where they exist."""
    return "reduce-overhead" if device.type == "cuda" else "default"


def _gradient_sign_step(model, x_adv: torch.Tensor, x: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor,
                        alpha: torch.Tensor, eps: torch.Tensor, norm: str, targeted: bool, l1_fraction: float):
    """(logits, success, summed loss, peak |gradient|, next iterate) for one PGD step."""

    def total(z: torch.Tensor):
        logits = model(z)
        loss = (-F.cross_entropy(logits, targets, reduction="sum") if targeted
                else F.cross_entropy(logits, labels, reduction="sum"))
        return loss, logits

    grad, (loss, logits) = torch.func.grad_and_value(total, has_aux=True)(x_adv)
    success = logits.argmax(dim=1) == targets if targeted else logits.argmax(dim=1) != labels
    if norm == "l1":
        direction = sparse_l1_direction(grad, x_adv, l1_fraction)
    else:
        direction = normalize_gradient(grad, norm)
    delta = project(x_adv + alpha * direction - x, norm, eps)
    x_next = (x + delta).clamp(0.0, 1.0)
    return logits, success, loss, grad.abs().amax(), x_next


def compiled_step(device: torch.device) -> Callable:
    """The compiled step for a device type (compiled on first call, then replayed)."""
    mode = compile_mode(device)
    if mode not in _COMPILED:
        _COMPILED[mode] = torch.compile(_gradient_sign_step, mode=mode, dynamic=False)
    return _COMPILED[mode]


class FastStep:
    """One attack's compiled step with its fixed inputs; call it with the iterate."""

    def __init__(self, model, x: torch.Tensor, criterion, alpha: float, eps: float, norm: str, l1_fraction: float):
        self.model = model
        self.x = x
        self.labels = criterion.labels
        targets = criterion.target_classes
        self.targeted = targets is not None
        self.targets = targets if targets is not None else criterion.labels
        self.alpha = torch.tensor(alpha, dtype=x.dtype, device=x.device)
        self.eps = torch.tensor(eps, dtype=x.dtype, device=x.device)
        self.norm = norm
        self.l1_fraction = float(l1_fraction)
        self.graphs = compile_mode(x.device) == "reduce-overhead"
        self._fn = compiled_step(x.device)

    def __call__(self, x_adv: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.graphs:
            torch.compiler.cudagraph_mark_step_begin()
        out = self._fn(self.model, x_adv, self.x, self.labels, self.targets, self.alpha, self.eps, self.norm,
                       self.targeted, self.l1_fraction)
        if self.graphs:  # the next replay overwrites these: the step, the telemetry and the next input keep copies
            out = tuple(t.clone() for t in out)
        return out


def make_fast_step(model, x: torch.Tensor, criterion, alpha: float, eps: float, norm: str,
                   l1_fraction: float) -> FastStep | None:
    """A compiled step whose first replay worked, or None (with a logged reason) to run eagerly instead."""
    step = FastStep(model, x, criterion, alpha, eps, norm, l1_fraction)
    try:
        step(x)  # compiles (or finds the compiled step) and runs it once
    except Exception as exc:  # noqa: BLE001 - any compiler failure means: run the eager loop
        log.warning("fast mode unavailable for this model, running eagerly: %s", exc)
        return None
    return step
