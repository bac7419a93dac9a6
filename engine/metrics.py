"""The per-step metrics every attack reports, by name: torch-free, shared by the telemetry, run records,
reports and the GUI (which draws them without importing torch)."""

from __future__ import annotations

TOP_K = 5  # classes reported per step
METRIC_NAMES: tuple[str, ...] = ("loss", "margin", "true_prob", "target_prob", "l0", "l1", "l2", "linf", "success")
