"""DeepFool (Moosavi-Dezfooli et al. 2016): walk to the nearest linearised decision boundary, repeat.

A minimal-norm attack: it reports the smallest perturbation it found, not a success at a budget.
"""

from __future__ import annotations

import torch

from .. import catalogue
from ..norms import dual_norm, lp_norm
from .base import Attack, AttackResult, FiniteCheck, measure, per_image


class DeepFoolAttack(Attack):
    spec = catalogue.DEEPFOOL

    def steps(self, model, x, criterion, generator):
        cfg = self.config
        x = x.detach()
        labels = criterion.labels
        overshoot = self.param("overshoot")
        q = dual_norm(cfg.norm)
        with torch.no_grad():
            clean = model(x)
        k = min(self.param("candidates"), clean.shape[1])
        order = clean.argsort(dim=1, descending=True)
        others = torch.stack([row[row != lab][: k - 1] for row, lab in zip(order, labels, strict=True)])
        r_total = torch.zeros_like(x)
        x_adv = x.clone()
        active = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        check = FiniteCheck(x.device)
        i = 0
        for i in range(cfg.steps + 1):
            x_req = x_adv.detach().requires_grad_(True)
            with torch.enable_grad():
                logits = model(x_req)
                f_label = logits.gather(1, labels[:, None])[:, 0]
                step = measure(i, self.spec.title, x, x_adv, logits, criterion)
                yield step
                active = active & ~step.success
                if i == cfg.steps or not bool(active.any()):
                    break
                (g_label,) = torch.autograd.grad(f_label.sum(), x_req, retain_graph=True)
                best_dist = torch.full_like(f_label, float("inf"))
                best_r = torch.zeros_like(x)
                for j in range(others.shape[1]):
                    f_k = logits.gather(1, others[:, j : j + 1])[:, 0]
                    (g_k,) = torch.autograd.grad(f_k.sum(), x_req, retain_graph=j < others.shape[1] - 1)
                    w = g_k - g_label
                    f = (f_k - f_label).detach()
                    w_norm = lp_norm(w, q).clamp_min(1e-12)
                    dist = f.abs() / w_norm
                    if cfg.norm == "l2":
                        r = per_image((f.abs() + 1e-4) / w_norm**2, w) * w
                    else:
                        r = per_image((f.abs() + 1e-4) / w_norm, w) * w.sign()
                    better = dist < best_dist
                    best_dist = torch.where(better, dist, best_dist)
                    best_r = torch.where(per_image(better, x), r, best_r)
            check.update(i, best_dist)
            r_total = r_total + torch.where(per_image(active, x), best_r, torch.zeros_like(best_r))
            x_adv = (x + (1 + overshoot) * r_total).clamp(0, 1).detach()
        return AttackResult(x_adv=x_adv, success=step.success, steps_run=i, logits=step.logits)
