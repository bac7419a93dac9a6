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
    Step,
    loss_and_gradient,
    measure,
    per_image,
)


def keep_best(best: torch.Tensor, found: torch.Tensor, x_adv: torch.Tensor, success: torch.Tensor):
    """Remember the latest adversarial iterate per image, so a later failed step cannot lose it."""
    return torch.where(per_image(success, x_adv), x_adv, best), found | success


class PgdAttack(Attack):
    """Steepest ascent on the loss with a projection onto the eps-ball and [0,1] after every step.

    `budget` gives every image its own eps instead of `config.eps` (and, without a set step size, its own
    step 2.5 * eps / steps): the bisection wrapper (`bisect.BisectedPgd`) searches each image's budget
    this way. `objective` 'margin' ascends minus the criterion's logit gap instead of its loss: the
    cross-entropy's gradient vanishes far from the boundary (softmax saturates), the gap's does not.
    """

    spec = catalogue.PGD

    def __init__(self, config, budget: torch.Tensor | None = None, objective: str = "loss"):
        super().__init__(config)
        self.budget = budget
        self.objective = objective

    def _schedule(self) -> tuple[int, float, bool]:
        cfg = self.config
        return cfg.steps, cfg.effective_step_size, cfg.random_start

    def _direction(self, grad: torch.Tensor, x_adv: torch.Tensor) -> torch.Tensor:
        if self.config.norm == "l1":
            return sparse_l1_direction(grad, x_adv, self.param("l1_fraction"))
        return normalize_gradient(grad, self.config.norm)

    def steps(self, model, x: torch.Tensor, criterion: Criterion,
              generator: torch.Generator) -> Generator[Step, None, AttackResult]:
        cfg = self.config
        n_steps, alpha, random_start = self._schedule()
        x = x.detach()
        eps = cfg.eps
        if self.budget is not None:
            eps = self.budget.to(x.device, x.dtype)
            if cfg.step_size is None:
                alpha = per_image(2.5 * eps / n_steps, x)
            if random_start:  # the unit ball's draw scaled per image (every draw is linear in eps)
                start = x + random_in_ball(x.shape, cfg.norm, 1.0, generator, x.device, x.dtype) * per_image(eps, x)
            else:
                start = x.clone()
        elif random_start and cfg.eps > 0:
            start = x + random_in_ball(x.shape, cfg.norm, cfg.eps, generator, x.device, x.dtype)
        else:
            start = x.clone()
        ascend = criterion.loss if self.objective == "loss" else (lambda logits: -criterion.margin(logits))
        x_adv = clip_perturbation(x, start, cfg.norm, eps)
        best, found = x_adv.clone(), torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        check = FiniteCheck(x.device)
        active = torch.ones_like(found)
        i = 0
        for i in range(n_steps):
            logits, losses, grad = loss_and_gradient(model, x_adv, ascend)
            check.update(i, losses, grad)
            step = measure(i, self.spec.title, x, x_adv, logits, criterion)
            best, found = keep_best(best, found, x_adv, step.success)
            yield step
            if cfg.early_stop:
                active = active & ~step.success
                if not bool(active.any()):
                    break
            candidate = clip_perturbation(x, x_adv + alpha * self._direction(grad, x_adv), cfg.norm, eps)
            x_adv = torch.where(per_image(active, x_adv), candidate, x_adv)
        else:
            i = n_steps
            with torch.no_grad():
                logits = model(x_adv)
            check.update(i, criterion.loss(logits))
            step = measure(i, self.spec.title, x, x_adv, logits, criterion)
            best, found = keep_best(best, found, x_adv, step.success)
            yield step
        check.raise_if_bad()
        return AttackResult(x_adv=torch.where(per_image(found, x), best, x_adv), success=found, steps_run=i)


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
