"""How the perturbation pane draws a perturbation: its channel mean through a diverging colour map, or
its RGB amplified around mid grey; scaled to its peak, or to a fixed scale set by the norm and budget.

Scaling to the peak makes a sparse L2 or L1 change a blank square (one large value sets the scale and
the rest vanish). The fixed scale per norm ties full colour to what the budget allows a typical value:
Linf ε itself; L2 three times the value an even spread of ε would give (ε/√n); L1 three times ε/n.
Values beyond saturate, so the many small changes show and the few large ones mark where they are.
numpy only.
"""

from __future__ import annotations

import math

import numpy as np

VIEWS = {"mean": "Channel mean (blue lowers, red raises)", "rgb": "Amplified RGB (grey: unchanged)"}
SCALES = {"fixed": "Fixed scale per norm", "peak": "Scale to the peak"}
FIXED_SPREAD = 3.0


def fixed_scale(norm: str, eps: float, values: int) -> float:
    """Full colour for the perturbation pane, in [0, 1] pixel units, from the norm and its budget."""
    if eps <= 0 or values <= 0:
        return 0.0
    if norm == "linf":
        return eps
    if norm == "l2":
        return min(eps, FIXED_SPREAD * eps / math.sqrt(values))
    return min(eps, FIXED_SPREAD * eps / values)


def fixed_rule(norm: str) -> str:
    return {"linf": "ε", "l2": f"{FIXED_SPREAD:g}·ε/√n", "l1": f"{FIXED_SPREAD:g}·ε/n"}.get(norm, "ε")


def perturbation_image(delta: np.ndarray, view: str, scale: float) -> np.ndarray:
    """delta: (H, W, 3) in [0, 1] units. 'mean': (H, W) channel mean in /255 units (for levels ±scale·255);
    'rgb': (H, W, 3) in [0, 1], 0.5 + delta / (2·scale), clipped."""
    scale = max(scale, 1e-9)
    if view == "rgb":
        return np.clip(0.5 + delta / (2 * scale), 0.0, 1.0).astype(np.float32)
    return (delta.mean(axis=2) * 255.0).astype(np.float32)
