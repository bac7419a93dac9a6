"""Projected gradient descent (Madry et al. 2018) in Linf and L2, and FGSM as its one-step case."""

from __future__ import annotations

from collections.abc import Generator

import torch

from ..criteria import Criterion
from ..norms import clip_perturbation, normalize_gradient, random_in_ball
from .base import Attack, AttackResult, AttackSpec, FiniteCheck, Step, measure


def _forward_with_gradient(model, x_adv: torch.Tensor, criterion: Criterion):
    x_adv = x_adv.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x_adv)
        losses = criterion.loss(logits)
        (grad,) = torch.autograd.grad(losses.sum(), x_adv)
    return logits.detach(), losses.detach(), grad


def _keep_best(best: torch.Tensor, found: torch.Tensor, x_adv: torch.Tensor, success: torch.Tensor):
    """Remember the latest adversarial iterate per image, so a later failed step cannot lose it."""
    mask = success.reshape(-1, *([1] * (x_adv.dim() - 1)))
    return torch.where(mask, x_adv, best), found | success


class PgdAttack(Attack):
    """Steepest ascent on the loss with a projection onto the eps-ball and [0,1] after every step."""

    spec = AttackSpec(
        name="pgd",
        title="PGD",
        norms=("linf", "l2"),
        description="Projected gradient descent: repeated gradient steps, projected back into the budget.",
    )

    def _schedule(self) -> tuple[int, float, bool]:
        cfg = self.config
        return cfg.steps, cfg.effective_step_size, cfg.random_start

    def steps(self, model, x: torch.Tensor, criterion: Criterion,
              generator: torch.Generator) -> Generator[Step, None, AttackResult]:
        cfg = self.config
        n_steps, alpha, random_start = self._schedule()
        x = x.detach()
        if random_start and cfg.eps > 0:
            start = x + random_in_ball(x.shape, cfg.norm, cfg.eps, generator, x.device, x.dtype)
        else:
            start = x.clone()
        x_adv = clip_perturbation(x, start, cfg.norm, cfg.eps)
        best, found = x_adv.clone(), torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        check = FiniteCheck(x.device)
        active = torch.ones_like(found)
        for i in range(n_steps):
            logits, losses, grad = _forward_with_gradient(model, x_adv, criterion)
            check.update(i, losses, grad)
            step = measure(i, self.spec.title, x, x_adv, logits, criterion)
            best, found = _keep_best(best, found, x_adv, step.success)
            yield step
            if cfg.early_stop:
                active = active & ~step.success
                if not bool(active.any()):
                    break
            candidate = clip_perturbation(x, x_adv + alpha * normalize_gradient(grad, cfg.norm), cfg.norm, cfg.eps)
            x_adv = torch.where(active.reshape(-1, 1, 1, 1), candidate, x_adv)
        else:
            i = n_steps
            with torch.no_grad():
                logits = model(x_adv)
            check.update(i, criterion.loss(logits))
            step = measure(i, self.spec.title, x, x_adv, logits, criterion)
            best, found = _keep_best(best, found, x_adv, step.success)
            yield step
        check.raise_if_bad()
        x_final = torch.where(found.reshape(-1, 1, 1, 1), best, x_adv)
        return AttackResult(x_adv=x_final, success=found, steps_run=i)


class FgsmAttack(PgdAttack):
    """Fast gradient sign method (Goodfellow et al. 2015): one step of size eps, no random start."""

    spec = AttackSpec(
        name="fgsm",
        title="FGSM",
        norms=("linf", "l2"),
        description="Fast gradient sign method: a single gradient step of the full budget.",
        uses_steps=False,
        uses_step_size=False,
        uses_random_start=False,
    )

    def _schedule(self) -> tuple[int, float, bool]:
        return 1, self.config.eps, False
