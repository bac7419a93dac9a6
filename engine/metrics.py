"""The per-step metrics every attack reports, by name: torch-free, shared by the telemetry, run records,
reports and the GUI (which draws them without importing torch).

Two kinds, by what they cost. `STEP_METRICS` come from the logits the step already has and are kept
for every step. `FRAME_METRICS` (the perturbation norms) need a pass over the images, so they are
taken only on the steps a reader sees (a frame, at the telemetry's rate, and the last step): series of
them hold NaN on the other steps.
"""

from __future__ import annotations

TOP_K = 5  # classes reported per frame
METRIC_NAMES: tuple[str, ...] = ("loss", "margin", "true_prob", "target_prob", "l0", "l1", "l2", "linf", "success")
STEP_METRICS: tuple[str, ...] = ("loss", "margin", "true_prob", "target_prob", "success")
FRAME_METRICS: tuple[str, ...] = ("l0", "l1", "l2", "linf")
