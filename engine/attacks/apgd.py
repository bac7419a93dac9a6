"""Auto-PGD (Croce & Hein 2020): PGD with momentum and a step size that halves at checkpoints
when progress stalls; with the cross-entropy or the scale-free DLR loss.
"""

from __future__ import annotations

import torch

from .. import catalogue
from ..criteria import Criterion
from ..errors import ConfigError
from ..norms import clip_perturbation, normalize_gradient
from .base import (
    Attack,
    AttackResult,
    FiniteCheck,
    loss_and_gradient,
    measure,
    per_image,
)


def dlr_loss(logits: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
    """Difference of logits ratio: invariant to shifting and scaling the logits (higher = closer to fooled)."""
    ordered, _ = logits.sort(dim=1)
    z_y = logits.gather(1, labels[:, None])[:, 0]
    if targets is None:
        best_other = torch.where(ordered[:, -1] == z_y, ordered[:, -2], ordered[:, -1])
        return -(z_y - best_other) / (ordered[:, -1] - ordered[:, -3] + 1e-12)
    z_t = logits.gather(1, targets[:, None])[:, 0]
    return -(z_y - z_t) / (ordered[:, -1] - 0.5 * (ordered[:, -3] + ordered[:, -4]) + 1e-12)


class ApgdAttack(Attack):
    spec = catalogue.APGD_CE
    loss_name = "ce"

    def _loss_fn(self, criterion: Criterion):
        if self.loss_name == "ce":
            return criterion.loss
        targets = criterion.target_classes
        return lambda logits: dlr_loss(logits, criterion.labels, targets)

    def _project(self, x: torch.Tensor, x_new: torch.Tensor) -> torch.Tensor:
        return clip_perturbation(x, x_new, self.config.norm, self.config.eps)

    def steps(self, model, x, criterion, generator):
        cfg = self.config
        eps, n_iter = cfg.eps, cfg.steps
        loss_fn = self._loss_fn(criterion)
        if self.loss_name == "dlr":
            classes_needed = 4 if criterion.targeted else 3
            with torch.no_grad():
                if model(x[:1]).shape[1] < classes_needed:
                    raise ConfigError(f"{self.spec.title} needs a model with at least {classes_needed} classes")
        x = x.detach()
        n = x.shape[0]
        if cfg.norm == "linf":
            t = 2 * torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) - 1
            start = x + eps * t / per_image(t.reshape(n, -1).abs().amax(dim=1).clamp_min(1e-12), t)
        else:
            t = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            start = x + eps * t / per_image(t.reshape(n, -1).norm(dim=1).clamp_min(1e-12), t)
        x_adv = self._project(x, start)
        check = FiniteCheck(x.device)
        logits, loss, grad = loss_and_gradient(model, x_adv, loss_fn)
        check.update(0, loss, grad)
        step = measure(0, self.spec.title, x, x_adv, logits, criterion)
        found = step.success.clone()
        x_best_adv, logits_best_adv = x_adv.clone(), logits
        yield step
        x_best, grad_best, loss_best, logits_best = x_adv.clone(), grad.clone(), loss.clone(), logits
        step_size = torch.full((n,), 2 * eps, device=x.device, dtype=x.dtype)
        x_old = x_adv.clone()
        k = max(int(0.22 * n_iter), 1)
        k_min, k_decrease = max(int(0.06 * n_iter), 1), max(int(0.03 * n_iter), 1)
        since_check = 0
        history = [loss.clone()]
        loss_best_at_check = loss_best.clone()
        reduced_at_check = torch.ones(n, dtype=torch.bool, device=x.device)
        active = torch.ones(n, dtype=torch.bool, device=x.device)
        rho = self.param("rho")
        i = 0
        for i in range(n_iter):
            momentum = x_adv - x_old
            x_old = x_adv
            a = 0.75 if i > 0 else 1.0
            x1 = self._project(x, x_adv + per_image(step_size, x) * normalize_gradient(grad, cfg.norm))
            x1 = self._project(x, x_adv + (x1 - x_adv) * a + momentum * (1 - a))
            x_adv = torch.where(per_image(active, x), x1, x_adv)
            logits, loss, grad = loss_and_gradient(model, x_adv, loss_fn)
            check.update(i + 1, loss, grad)
            step = measure(i + 1, self.spec.title, x, x_adv, logits, criterion)
            first_hit = step.success & ~found
            x_best_adv = torch.where(per_image(first_hit, x), x_adv, x_best_adv)
            logits_best_adv = torch.where(first_hit[:, None], logits, logits_best_adv)
            found = found | step.success
            yield step
            if cfg.early_stop:
                active = ~found
                if not bool(active.any()):
                    break
            history.append(loss.clone())
            improved = loss > loss_best
            x_best = torch.where(per_image(improved, x), x_adv, x_best)
            grad_best = torch.where(per_image(improved, x), grad, grad_best)
            loss_best = torch.where(improved, loss, loss_best)
            logits_best = torch.where(improved[:, None], logits, logits_best)
            since_check += 1
            if since_check == k:
                recent = torch.stack(history[-(k + 1):])
                increases = (recent[1:] > recent[:-1]).sum(dim=0)
                oscillating = increases <= k * rho
                no_progress = ~reduced_at_check & (loss_best_at_check >= loss_best)
                reduce = oscillating | no_progress
                reduced_at_check, loss_best_at_check = reduce, loss_best.clone()
                step_size = torch.where(reduce, step_size / 2, step_size)
                x_adv = torch.where(per_image(reduce, x), x_best, x_adv)
                grad = torch.where(per_image(reduce, x), grad_best, grad)
                since_check, k = 0, max(k - k_decrease, k_min)
        check.raise_if_bad()
        x_final = torch.where(per_image(found, x), x_best_adv, x_best)
        logits_final = torch.where(found[:, None], logits_best_adv, logits_best)
        return AttackResult(x_adv=x_final, success=found, steps_run=i + 1, logits=logits_final)


class ApgdDlrAttack(ApgdAttack):
    spec = catalogue.APGD_DLR
    loss_name = "dlr"
