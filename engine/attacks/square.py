"""Square attack (Andriushchenko et al. 2020), Linf: random square patches at the budget's corners,
kept when they lower the margin. Score-based black-box: it only reads model outputs, never gradients,
so it works on models that provide none (ONNX through onnxruntime).
"""

from __future__ import annotations

import math

import torch

from .. import catalogue
from .base import Attack, AttackResult, measure, per_image

_SCHEDULE = ((10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32), (4000, 64), (6000, 128), (8000, 256))


def square_fraction(p_init: float, iteration: int, total: int) -> float:
    """The share of pixels a square covers, halved on the paper's schedule (rescaled to `total`)."""
    it = int(iteration / max(total, 1) * 10000)
    divisor = 1
    for bound, d in _SCHEDULE:
        if it > bound:
            divisor = d * 2
    return p_init / divisor


class SquareAttack(Attack):
    spec = catalogue.SQUARE

    def _sign(self, shape, generator, like):
        bits = torch.randint(0, 2, shape, generator=generator, device=like.device)
        return (2 * bits - 1).to(like.dtype)

    @torch.no_grad()
    def _scores(self, model, x_adv):
        return model(x_adv)

    def steps(self, model, x, criterion, generator):
        cfg = self.config
        eps = cfg.eps
        x = x.detach()
        n, c, h, w = x.shape
        x_best = (x + eps * self._sign((n, c, 1, w), generator, x)).clamp(0, 1)
        logits_best = self._scores(model, x_best)
        margin_best = criterion.margin(logits_best)
        step = measure(0, self.spec.title, x, x_best, logits_best, criterion)
        yield step
        rows = torch.arange(h, device=x.device)[None, :, None]
        cols = torch.arange(w, device=x.device)[None, None, :]
        i = 0
        for i in range(cfg.steps):
            active = margin_best > 0
            if not bool(active.any()):
                break
            p = square_fraction(self.param("p_init"), i, cfg.steps)
            s = min(max(int(round(math.sqrt(p * h * w))), 1), max(h - 1, 1))
            top = torch.randint(0, h - s + 1, (n, 1, 1), generator=generator, device=x.device)
            left = torch.randint(0, w - s + 1, (n, 1, 1), generator=generator, device=x.device)
            window = ((rows >= top) & (rows < top + s) & (cols >= left) & (cols < left + s))[:, None]
            delta = x_best - x
            delta = torch.where(window, eps * self._sign((n, c, 1, 1), generator, x), delta)
            x_new = (x + delta).clamp(0, 1)
            logits = self._scores(model, x_new)
            margin = criterion.margin(logits)
            improved = (margin < margin_best) & active
            margin_best = torch.where(improved, margin, margin_best)
            x_best = torch.where(per_image(improved, x), x_new, x_best)
            logits_best = torch.where(improved[:, None], logits, logits_best)
            step = measure(i + 1, self.spec.title, x, x_best, logits_best, criterion)
            yield step
        return AttackResult(x_adv=x_best, success=criterion.is_adversarial(logits_best), steps_run=i + 1,
                            logits=logits_best)
