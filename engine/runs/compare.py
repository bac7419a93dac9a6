"""Two run records side by side: the settings that differ and the outcome of each.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..config import RunConfig
from ..record import RunRecord
from .text import PLOT_SERIES, class_name, flattened, local_time, plot_series


def config_differences(a: RunConfig, b: RunConfig) -> list[tuple[str, object, object]]:
    """(field, a, b) for every setting that differs, dotted names such as 'attack.eps'."""
    fa, fb = flattened(a.to_dict()), flattened(b.to_dict())
    missing = object()
    rows = []
    for name in sorted(set(fa) | set(fb), key=lambda n: (n.count("."), n)):
        va, vb = fa.get(name, missing), fb.get(name, missing)
        if va != vb:
            rows.append((name, None if va is missing else va, None if vb is missing else vb))
    return rows


def outcome_rows(a: RunRecord, b: RunRecord, image: int = 0) -> list[tuple[str, str, str]]:
    """Final predictions, success and norms of two records side by side (as text)."""
    def cells(r: RunRecord) -> list[str]:
        names = r.class_names
        return [
            local_time(r.created), f"{r.model_name} on {r.device}", r.config.image,
            "x".join(str(s) for s in r.original.shape[-2:][::-1]),
            class_name(names, r.labels[image]),
            f"{class_name(names, r.clean_pred[image])} ({r.clean_conf[image]:.1%})",
            f"{class_name(names, r.adv_pred[image])} ({r.adv_conf[image]:.1%})",
            "yes" if r.success[image] else "no",
            str(int(r.norms["l0"][image])),
            f"{r.norms['l1'][image]:.4f}" if "l1" in r.norms else "-", f"{r.norms['l2'][image]:.4f}",
            f"{r.norms['linf'][image]:.4f} ({r.norms['linf'][image] * 255:.2f}/255)",
            f"{r.steps_run} ({r.status})", f"{r.duration_s:.2f} s",
        ]
    labels = ["created", "model", "image", "size", "true class", "clean", "adversarial", "success", "L0", "L1",
              "L2", "Linf", "steps", "time"]
    return list(zip(labels, cells(a), cells(b), strict=True))


@dataclass
class RunComparison:
    """Two records side by side: config differences, outcomes, and per-step series to overlay."""

    a: RunRecord
    b: RunRecord
    a_path: str = ""
    b_path: str = ""
    differences: list[tuple[str, object, object]] = field(default_factory=list)
    outcome: list[tuple[str, str, str]] = field(default_factory=list)
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> (a, b)
    steps: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))

    def to_dict(self) -> dict:
        """JSON-ready (the CLI's --json): series as lists, NaN as null."""
        def clean(values: np.ndarray) -> list[float | None]:
            return [float(v) if math.isfinite(v) else None for v in values]

        return {
            "a": self.a_path, "b": self.b_path,
            "differences": [{"field": f, "a": va, "b": vb} for f, va, vb in self.differences],
            "outcome": [{"field": f, "a": va, "b": vb} for f, va, vb in self.outcome],
            "series": {name: {"a": clean(sa), "b": clean(sb)} for name, (sa, sb) in self.series.items()},
        }


def compare_records(a: RunRecord, b: RunRecord, a_path: str | os.PathLike = "",
                    b_path: str | os.PathLike = "") -> RunComparison:
    """What differs between two runs: settings, outcome, and how their metrics evolved."""
    steps_a, series_a = plot_series(a)
    steps_b, series_b = plot_series(b)
    differences = config_differences(a.config, b.config)
    if a.model_name != b.model_name:
        differences.append(("model (loaded)", a.model_name, b.model_name))
    empty = np.zeros(0)
    series = {name: (series_a.get(name, empty), series_b.get(name, empty))
              for name in PLOT_SERIES if name in series_a or name in series_b}
    return RunComparison(a=a, b=b, a_path=str(a_path), b_path=str(b_path), differences=differences,
                         outcome=outcome_rows(a, b), series=series, steps=(steps_a, steps_b))
