"""The Resolution lab's configuration and results as plain data (numpy only, no torch).

The lab runs in the engine process (`resolution.py`); what it finds crosses to the GUI process
pickled, so these classes live where importing them loads no torch.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from ..errors import ConfigError
from .slopes import SlopeFit

DEFAULT_RESOLUTIONS = (16, 24, 32, 48, 64, 96, 128, 192, 256)
CPU_RESOLUTIONS = (16, 24, 32, 48, 64, 96, 128)
ATTACKS = ("fmn", "deepfool", "pgd-bisect")
CONDITIONS = ("native", "nearest-upsampled")


@dataclass
class ResolutionLabConfig:
    """What to measure; round-trips through JSON like every config."""

    images: str = "demo:32"  # demo:N, a folder, or sample:NAME
    model: str = "demo"  # the single model seeing every resolution (unused when `models` is given)
    models: dict[int, str] = field(default_factory=dict)  # per-resolution control: {size: model trained at it}
    resolutions: list[int] = field(default_factory=lambda: list(CPU_RESOLUTIONS))
    attack: str = "fmn"  # fmn | deepfool | pgd-bisect
    norms: list[str] = field(default_factory=lambda: ["l2", "linf"])
    steps: int = 100
    condition: str = "native"  # native | nearest-upsampled (a control: adds no detail)
    seed: int = 0
    batch: int = 32
    bootstrap: int = 1000
    device: str = "auto"

    def validated(self) -> ResolutionLabConfig:
        if self.attack not in ATTACKS:
            raise ConfigError(f"unknown lab attack '{self.attack}': choose one of {', '.join(ATTACKS)}")
        if self.condition not in CONDITIONS:
            raise ConfigError(f"unknown condition '{self.condition}': choose one of {', '.join(CONDITIONS)}")
        bad = [n for n in self.norms if n not in ("l2", "linf")]
        if bad or not self.norms:
            raise ConfigError("norms must be l2 and/or linf")
        res = sorted({int(r) for r in self.resolutions})
        if len(res) < 2 or res[0] < 8 or res[-1] > 1024:
            raise ConfigError("give at least two resolutions between 8 and 1024 pixels")
        if self.steps < 1:
            raise ConfigError("steps must be at least 1")
        try:
            models = {int(k): str(v) for k, v in self.models.items()}
        except (TypeError, ValueError) as exc:
            raise ConfigError("per-resolution models must map whole-number sizes to model names") from exc
        if models and len([r for r in res if r in models]) < 2:
            raise ConfigError(f"per-resolution models cover {sorted(models)} px: give at least two of those "
                              "resolutions")
        return ResolutionLabConfig(**(asdict(self) | {"resolutions": res, "models": models}))

    @property
    def per_resolution(self) -> bool:
        """Each resolution attacked on the model trained at that size (the control), not one model for all."""
        return bool(self.models)

    def with_control_models(self) -> ResolutionLabConfig:
        """This config in per-resolution mode on the bundled control models (demo-r16, demo-r32, ...)."""
        from . import control_models_for_lab

        found = control_models_for_lab()
        if not found:
            raise ConfigError("no per-resolution control models are installed (advlens train-demo --sizes N)")
        return ResolutionLabConfig(**(asdict(self) | {"models": found}))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ResolutionLabConfig:
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in data.items() if k in known})
        config.models = {int(k): v for k, v in (config.models or {}).items()}  # JSON keys are strings
        return config


@dataclass
class Measurement:
    """One image at one resolution under the attack for one norm (NaN where skipped or not found)."""

    image: str
    resolution: int
    norm: str
    correct: bool
    success: bool
    l2: float
    rel_l2: float
    rms: float
    linf: float
    grad_l1: float = float("nan")  # ‖∂L/∂x‖₁ of the cross-entropy at the clean image
    grad_l2: float = float("nan")
    first_order_l2: float = float("nan")  # margin / ‖∇ margin‖₂: the linear model's minimal L2
    first_order_linf: float = float("nan")  # margin / ‖∇ margin‖₁: the linear model's minimal Linf
    model: str = ""  # the model attacked at this resolution (its card name)


GRADIENT_METRICS = ("grad_l1", "grad_l2")
FIRST_ORDER_METRICS = ("first_order_l2", "first_order_linf")
CLEAN_METRICS = GRADIENT_METRICS + FIRST_ORDER_METRICS  # defined for every correct image, attack or not


@dataclass
class ResolutionLabResult:
    config: ResolutionLabConfig
    model_name: str
    model_mode: str  # native | resize
    notes: list[str]
    image_names: list[str]
    measurements: list[Measurement] = field(default_factory=list)
    skipped: dict[int, int] = field(default_factory=dict)
    clean_accuracy: dict[int, float] = field(default_factory=dict)
    fits: dict[str, SlopeFit] = field(default_factory=dict)
    verdicts: list[str] = field(default_factory=list)
    strip: dict[int, np.ndarray] = field(default_factory=dict)  # (3, s, s) L2 perturbation of one image
    strip_image: str = ""
    done: int = 0
    total: int = 0
    models: dict[int, str] = field(default_factory=dict)  # the model attacked at each resolution
    missing_models: list[int] = field(default_factory=list)  # per-resolution mode: sizes with no model, skipped
    diagnostics: dict[str, dict[str, int]] = field(default_factory=dict)  # '64px l2' -> indicator -> images

    @property
    def model_choice(self) -> str:
        """'single' (one model sees every resolution) or 'per-resolution' (a model trained at each size)."""
        return "per-resolution" if self.config.per_resolution else "single"

    def table(self, metric: str, norm: str) -> tuple[list[int], np.ndarray]:
        """(resolutions, images x resolutions array of `metric` from the `norm` attack; NaN = missing).

        Norms count only where the attack succeeded; gradient norms wherever the image was correct."""
        gradient = metric in CLEAN_METRICS
        sizes = self.config.resolutions
        index = {name: i for i, name in enumerate(self.image_names)}
        out = np.full((len(self.image_names), len(sizes)), np.nan)
        col = {s: j for j, s in enumerate(sizes)}
        for m in self.measurements:
            if m.norm == norm and (m.correct if gradient else m.success):
                out[index[m.image], col[m.resolution]] = getattr(m, metric)
        return sizes, out

    def medians(self, metric: str, norm: str) -> list[float]:
        _, t = self.table(metric, norm)
        with np.errstate(all="ignore"):
            return [float(np.nanmedian(t[:, j])) if np.isfinite(t[:, j]).any() else float("nan")
                    for j in range(t.shape[1])]

    def means(self, metric: str, norm: str) -> list[float]:
        _, t = self.table(metric, norm)
        with np.errstate(all="ignore"):
            return [float(np.nanmean(t[:, j])) if np.isfinite(t[:, j]).any() else float("nan")
                    for j in range(t.shape[1])]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        names = [f.name for f in fields(Measurement)]
        writer.writerow(names)
        for m in self.measurements:
            writer.writerow([getattr(m, n) for n in names])
        return buffer.getvalue()

    def to_json_dict(self) -> dict:
        return {
            "config": self.config.to_dict(),
            "model": self.model_name,
            "model_mode": self.model_mode,
            "model_choice": self.model_choice,
            "models": {str(k): v for k, v in self.models.items()},
            "missing_models": self.missing_models,
            "notes": self.notes,
            "fits": {k: v.to_dict() for k, v in self.fits.items()},
            "verdicts": self.verdicts,
            "skipped": {str(k): v for k, v in self.skipped.items()},
            "clean_accuracy": {str(k): v for k, v in self.clean_accuracy.items()},
            "mean_gradient_norms": {m: self.means(m, self.config.norms[0]) for m in GRADIENT_METRICS},
            "median_first_order": {m: self.medians(m, self.config.norms[0]) for m in FIRST_ORDER_METRICS},
            "medians": {f"{metric}/{norm}": self.medians(metric, norm)
                        for norm in self.config.norms for metric in ("l2", "rel_l2", "rms", "linf")},
            "measurements": [asdict(m) for m in self.measurements],
            "diagnostics": self.diagnostics,
        }
