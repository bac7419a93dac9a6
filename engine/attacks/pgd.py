"""Gradient-sign family: PGD (Madry et al. 2018) in Linf, L2 and sparse L1, BIM, MI-FGSM, and FGSM.

They share one loop: ascend the loss along the steepest direction for the norm, then project onto
the eps-ball and the [0, 1] box. The variants differ only in schedule and direction.
"""

from __future__ import annotations

from collections.abc import Generator

import torch

from .. import catalogue
from ..criteria import Criterion
from ..norms import clip_perturbation, lp_norm, normalize_gradient, random_in_ball, sparse_l1_direction
from .base import (
    Attack,
    AttackResult,
    FiniteCheck,
    LatestAdversarial,
    Step,
    measure,
    per_image,
    total_and_gradient,
)
from .fast import make_fast_step


class PgdAttack(Attack):
    """Steepest ascent on the loss with a projection onto the eps-ball and [0,1] after every step.

    `budget` gives every image its own eps instead of `config.eps` (and, without a set step size, its own
    step 2.5 * eps / steps): the bisection wrapper (`bisect.BisectedPgd`) searches each image's budget
    this way. `objective` 'margin' ascends minus the criterion's logit gap instead of its loss: the
    cross-entropy's gradient vanishes far from the boundary (softmax saturates), the gap's does not.
    """

    spec = catalogue.PGD

    def __init__(self, config, budget: torch.Tensor | None = None, objective: str = "loss", fast: bool = False):
        super().__init__(config, fast=fast)
        self.budget = budget
        self.objective = objective

    def _schedule(self) -> tuple[int, float, bool]:
        cfg = self.config
        return cfg.steps, cfg.effective_step_size, cfg.random_start

    def _direction(self, grad: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
        if self.config.norm == "l1":
            return sparse_l1_direction(grad, x_adv, self.param("l1_fraction"))
        return normalize_gradient(grad, self.config.norm)

    def _ascend(self, x: torch.Tensor, x_adv: torch.Tensor, grad: torch.Tensor, alpha, eps) -> torch.Tensor:
        """The next iterate: a step along the norm's steepest direction, projected onto the ball and the box
        (`alpha` and `eps` are numbers, or per-image tensors under a budget)."""
        cfg = self.config
        direction = self._direction(grad, x_adv)
        # Linf directions are signs, so alpha * direction is exact and the fused add gives the same values
        fused = cfg.norm == "linf" and not isinstance(alpha, torch.Tensor)
        moved = torch.add(x_adv, direction, alpha=alpha) if fused else x_adv + alpha * direction
        return clip_perturbation(x, moved, cfg.norm, eps)

    def _start(self, x: torch.Tensor, generator: torch.Generator, eps) -> torch.Tensor:
        cfg = self.config
        _, _, random_start = self._schedule()
        if self.budget is not None and random_start:  # the unit ball's draw scaled per image (linear in eps)
            start = x + random_in_ball(x.shape, cfg.norm, 1.0, generator, x.device, x.dtype) * per_image(eps, x)
        elif self.budget is None and random_start and cfg.eps > 0:
            start = x + random_in_ball(x.shape, cfg.norm, cfg.eps, generator, x.device, x.dtype)
        else:
            start = x.clone()
        return clip_perturbation(x, start, cfg.norm, eps)

    @property
    def has_fast_step(self) -> bool:
        """The compiled step covers the plain gradient-sign direction (not MI-FGSM's momentum)."""
        return type(self)._direction is PgdAttack._direction and self.budget is None and self.objective == "loss"

    def steps(self, model, x: torch.Tensor, criterion: Criterion,
              generator: torch.Generator) -> Generator[Step, None, AttackResult]:
        cfg = self.config
        n_steps, alpha, _ = self._schedule()
        x = x.detach()
        eps = cfg.eps
        if self.budget is not None:
            eps = self.budget.to(x.device, x.dtype)
            if cfg.step_size is None:
                alpha = per_image(2.5 * eps / n_steps, x)
        if self.objective == "loss":
            total_fn = criterion.total_loss
        else:
            def total_fn(logits: torch.Tensor) -> torch.Tensor:
                return -criterion.margin(logits).sum()
        x_adv = self._start(x, generator, eps)
        check = FiniteCheck(x.device)
        latest = LatestAdversarial(x)
        # without early stop every image moves every step: no mask, no torch.where
        active = torch.ones(x.shape[0], dtype=torch.bool, device=x.device) if cfg.early_stop else None
        fast = None
        if self.fast and self.has_fast_step:
            l1_fraction = self.param("l1_fraction") if cfg.norm == "l1" else 0.0
            fast = make_fast_step(model, x, criterion, alpha, cfg.eps, cfg.norm, l1_fraction)
        title = self.spec.title if fast is None else f"{self.spec.title} · fast"
        i = 0
        for i in range(n_steps):
            if fast is None:
                logits, total, grad = total_and_gradient(model, x_adv, total_fn)
                check.update(i, total, grad)
                step = Step(index=i, stage=title, x=x, x_adv=x_adv, logits=logits,
                            success=criterion.is_adversarial(logits))
            else:
                logits, success, total, grad_peak, candidate = fast(x_adv)
                check.update(i, total, grad_peak)
                step = Step(index=i, stage=title, x=x, x_adv=x_adv, logits=logits, success=success)
            latest.update(step.x_adv, step.logits, step.success)
            yield step
            if active is not None:
                active = active & ~step.success
                if not bool(active.any()):
                    break
            if fast is None:
                candidate = self._ascend(x, x_adv, grad, alpha, eps)
            x_adv = candidate if active is None else torch.where(per_image(active, x_adv), candidate, x_adv)
        else:
            i = n_steps
            # inference mode, not just no_grad: 8-15% cheaper on the CPU. Safe here because the model has run
            # in grad mode on this input size already (no cache it builds lazily is born an inference tensor)
            # and the logits only feed comparisons, torch.where and the record, never autograd or in-place ops
            with torch.inference_mode():
                logits = model(x_adv)
            check.update(i, logits)
            step = measure(i, title, x, x_adv, logits, criterion)
            latest.update(step.x_adv, step.logits, step.success)
            yield step
        check.raise_if_bad()
        x_final, success, final_logits = latest.result()
        return AttackResult(x_adv=x_final, success=success, steps_run=i, logits=final_logits)


class BimAttack(PgdAttack):
    """Basic iterative method (Kurakin et al. 2017): PGD without the random start, step eps/steps."""

    spec = catalogue.BIM

    def _schedule(self) -> tuple[int, float, bool]:
        cfg = self.config
        alpha = cfg.step_size if cfg.step_size is not None else cfg.eps / cfg.steps
        return cfg.steps, float(alpha), False


class MiFgsmAttack(PgdAttack):
    """Momentum iterative FGSM (Dong et al. 2018): steps follow an accumulated, L1-normalised gradient."""

    spec = catalogue.MI_FGSM

    def _schedule(self) -> tuple[int, float, bool]:
        cfg = self.config
        self._momentum = None
        alpha = cfg.step_size if cfg.step_size is not None else cfg.eps / cfg.steps
        return cfg.steps, float(alpha), False

    def _direction(self, grad: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
        g = grad / per_image(lp_norm(grad, "l1").clamp_min(1e-12), grad)
        self._momentum = g if self._momentum is None else self.param("decay") * self._momentum + g
        return normalize_gradient(self._momentum, self.config.norm)


class FgsmAttack(PgdAttack):
    """Fast gradient sign method (Goodfellow et al. 2015): one step of size eps, no random start."""

    spec = catalogue.FGSM

    def _schedule(self) -> tuple[int, float, bool]:
        return 1, self.config.eps, False
