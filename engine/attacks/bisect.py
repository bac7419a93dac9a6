"""Minimal-norm search by bisection over each image's budget, with PGD at every budget.

A fixed-budget attack answers "is there an adversarial within eps?"; bisecting eps per image turns it
into a minimal-norm attack: a success lowers that image's upper end to the smallest adversarial norm
seen so far, a failure raises its lower end to the budget tried. Like `Restarted`, it wraps the
catalogue's own attack (`PgdAttack`: its random start, step rule and projection) and keeps, per image,
the smallest adversarial iterate any run produced. Both labs use it: the Resolution lab on images, the
Stability lab on vectors through a two-logit adapter, with the same criterion objects.

The inner PGD ascends minus the logit gap, not the cross-entropy: the search's point is the boundary,
and the cross-entropy's gradient vanishes for confidently classified inputs (far from it). And it starts
from the image itself at every budget: a random start leaves a component across the gradient that the
projection onto the ball removes only slowly, so the budgets that just suffice fail and the search ends
above the true minimum (1.8% above it for a hyperplane, in the tests).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace

import torch

from .. import catalogue
from ..criteria import Criterion
from ..norms import lp_norm
from .base import Attack, AttackResult, Step, per_image
from .pgd import PgdAttack


def box_ceiling(x: torch.Tensor, norm: str) -> torch.Tensor:
    """Per image, the distance to the farthest point of the [0, 1] box: no adversarial lies farther."""
    return lp_norm(torch.maximum(x, 1 - x), norm)


class BisectedPgd(Attack):
    """Bisection on each image's budget, one PGD run (config.steps steps) per budget.

    `upper` (optional, one value per image) is a norm already known to hold an adversarial (an exact
    line scan, say): the search starts below it instead of at the box's farthest point. The result's
    `x_adv` is the smallest adversarial found; where none was, the last iterate of the run at the largest
    budget tried, so its norm says how far the search reached (a failed search is censored there).
    """

    spec = catalogue.PGD_BISECT

    def __init__(self, config, upper: torch.Tensor | None = None, fast: bool = False):
        super().__init__(config, fast=fast)  # no compiled step: each budget's PGD runs eagerly
        self.upper = upper

    def steps(self, model, x: torch.Tensor, criterion: Criterion,
              generator: torch.Generator) -> Generator[Step, None, AttackResult]:
        cfg = self.config
        x = x.detach()
        norm = cfg.norm
        searches = int(self.param("binary_steps"))
        hi = box_ceiling(x, norm)
        if self.upper is not None:
            hi = torch.minimum(hi, self.upper.to(hi.device, hi.dtype))
        lo = torch.zeros_like(hi)
        best, best_norm = x.clone(), torch.full_like(hi, float("inf"))
        reached, reached_eps = x.clone(), torch.full_like(hi, -1.0)
        inner = replace(cfg, attack="pgd", step_size=None, restarts=1, random_start=False,
                        params={k: v for k, v in cfg.params.items() if k in catalogue.PGD.params})
        offset = 0
        for search in range(searches):
            eps = (lo + hi) / 2
            run = PgdAttack(inner, budget=eps, objective="margin").steps(model, x, criterion, generator)
            success = torch.zeros_like(hi, dtype=torch.bool)
            last, last_x = -1, x
            for step in run:
                norms = lp_norm(step.x_adv - x, norm)
                better = step.success & (norms < best_norm)
                best_norm = torch.where(better, norms, best_norm)
                best = torch.where(per_image(better, x), step.x_adv, best)
                success = success | step.success
                last, last_x = step.index, step.x_adv
                step.index += offset
                step.stage = f"{self.spec.title} · budget {search + 1}/{searches}"
                yield step
            offset += last + 1
            failed_higher = ~success & (eps > reached_eps)
            reached = torch.where(per_image(failed_higher, x), last_x, reached)
            reached_eps = torch.where(failed_higher, eps, reached_eps)
            hi = torch.where(success, torch.minimum(hi, best_norm), hi)
            lo = torch.where(success, torch.minimum(lo, hi), eps)
        found = torch.isfinite(best_norm)
        return AttackResult(x_adv=torch.where(per_image(found, x), best, reached), success=found,
                            steps_run=offset - 1)
