"""Carlini-Wagner L2 (2017): minimise ||delta||^2 + c * margin in tanh space with Adam, and
binary-search the trade-off c per image. Each search stage shows as a stage in the telemetry.
"""

from __future__ import annotations

import torch

from .. import catalogue
from ..norms import lp_norm
from .base import Attack, AttackResult, FiniteCheck, measure, per_image


class CarliniWagnerL2Attack(Attack):
    spec = catalogue.CW_L2

    def steps(self, model, x, criterion, generator):
        cfg = self.config
        lr = cfg.step_size if cfg.step_size is not None else 0.01
        stages = self.param("binary_steps")
        kappa = self.param("kappa")
        x = x.detach()
        n = x.shape[0]
        c = torch.full((n,), self.param("c"), device=x.device, dtype=x.dtype)
        lower = torch.zeros_like(c)
        upper = torch.full_like(c, float("inf"))
        best_l2 = torch.full_like(c, float("inf"))
        best_adv = x.clone()
        best_logits: torch.Tensor | None = None
        last_logits: torch.Tensor | None = None
        found = torch.zeros(n, dtype=torch.bool, device=x.device)
        w_start = torch.atanh((2 * x - 1) * (1 - 1e-6))
        check = FiniteCheck(x.device)
        index = 0
        x_adv = x
        for stage in range(stages):
            w = w_start.clone().requires_grad_(True)
            optimizer = torch.optim.Adam([w], lr=lr)
            stage_success = torch.zeros_like(found)
            label = f"{self.spec.title} · c search {stage + 1}/{stages}"
            for _ in range(cfg.steps):
                with torch.enable_grad():
                    x_adv = (torch.tanh(w) + 1) / 2
                    logits = model(x_adv)
                    l2_squared = (x_adv - x).reshape(n, -1).pow(2).sum(dim=1)
                    margin = criterion.margin(logits).clamp_min(-kappa)
                    loss = l2_squared + c * margin
                    optimizer.zero_grad(set_to_none=True)
                    loss.sum().backward()
                check.update(index, loss)
                x_now = x_adv.detach()
                step = measure(index, label, x, x_now, logits, criterion)
                success = step.success if kappa == 0 else step.success & (criterion.margin(logits.detach()) <= -kappa)
                l2 = lp_norm(x_now - x, "l2")
                better = success & (l2 < best_l2)
                best_l2 = torch.where(better, l2, best_l2)
                best_adv = torch.where(per_image(better, x), x_now, best_adv)
                last_logits = step.logits
                best_logits = torch.where(better[:, None], last_logits, last_logits if best_logits is None
                                          else best_logits)
                stage_success = stage_success | success
                found = found | success
                yield step
                optimizer.step()
                index += 1
            upper = torch.where(stage_success, torch.minimum(upper, c), upper)
            lower = torch.where(~stage_success, torch.maximum(lower, c), lower)
            c = torch.where(torch.isinf(upper), c * 10, (lower + upper) / 2)
        check.raise_if_bad()
        x_final = torch.where(per_image(found, x), best_adv, x_adv.detach())
        logits_final = None if last_logits is None else torch.where(found[:, None], best_logits, last_logits)
        return AttackResult(x_adv=x_final, success=found, steps_run=index, logits=logits_final)
