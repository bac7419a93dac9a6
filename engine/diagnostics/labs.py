"""Indicator counts for the two labs, from what each lab measures anyway (a lab calls one function and
keeps its result in one field; nothing here changes a lab's numbers).

Resolution lab: per resolution and norm, the correctly classified images whose cross-entropy gradient
at the clean image was zero or not finite (the attack had nothing to follow), and those where the
near-minimal attack, which has no budget, found no adversarial at all (Pintor et al.'s unconstrained
attack failure: with an unbounded budget every image must fall). Stability lab: the same two for the
measured test points of each network, from the network's own logit gradient and the distances found
(`probes.stability_indicators`, which needs torch).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def resolution_lab_indicators(measurements: Iterable) -> dict[str, dict[str, int]]:
    """'{size}px {norm}' -> {'images', 'gradients', 'unconstrained_failure'} from the lab's measurements."""
    out: dict[str, dict[str, int]] = {}
    for m in measurements:
        if not m.correct:
            continue
        cell = out.setdefault(f"{m.resolution}px {m.norm}", {"images": 0, "gradients": 0, "unconstrained_failure": 0})
        cell["images"] += 1
        grad = float(m.grad_l1)
        if not math.isnan(grad) and (grad == 0 or not math.isfinite(grad)):
            cell["gradients"] += 1
        if not m.success:
            cell["unconstrained_failure"] += 1
    return out
