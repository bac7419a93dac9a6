"""What the Resolution lab measured: one row per (image, size, norm, seed), the tables and fits made
from them, the convergence check, and the exports (CSV, JSON).

Plain data (numpy only, no torch): the lab runs in the engine process and its results cross to the GUI
process pickled, so this module and what it imports (config, slopes, readings) load no torch."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .readings import JointVerdict, joint_verdict, metric_verdict
from .resolution_config import ResolutionLabConfig
from .slopes import SlopeFit, paired_slope

NORM_METRICS = ("l2", "rel_l2", "rms", "linf")
GRADIENT_METRICS = ("grad_l1", "grad_l2", "margin_grad_l1", "margin_grad_l2")
FIRST_ORDER_METRICS = ("first_order_l2", "first_order_linf")
CLEAN_METRICS = GRADIENT_METRICS + FIRST_ORDER_METRICS  # defined for every correct image, attack or not
CONVERGENCE_WARN = 0.05  # warn when doubling the steps moves a median by more than this share


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
    margin_grad_l1: float = float("nan")  # ‖∂(logit gap)/∂x‖₁ at the clean image: no confidence factor
    margin_grad_l2: float = float("nan")
    first_order_l2: float = float("nan")  # margin / ‖∇ margin‖₂: the linear model's minimal L2
    first_order_linf: float = float("nan")  # margin / ‖∇ margin‖₁: the linear model's minimal Linf
    model: str = ""  # the model attacked at this resolution (its card name)
    replicate: int = 0  # which training seed's model (the k-th model of each size); 0 with one model
    reached: float = float("nan")  # failed search: the `norm` of the perturbation it reached (censored there)
    image_l2: float = float("nan")  # ‖x‖₂ of the clean image, to turn `reached` into relative L2 and RMS
    prediction: int = -1  # the clean predicted class


def metric_value(m: Measurement, metric: str) -> tuple[float, bool]:
    """(value, censored) of one metric: a found perturbation's norm, a failed search's reach (censored),
    or NaN where the image was not attacked for that metric."""
    if metric in CLEAN_METRICS:
        return (getattr(m, metric) if m.correct else math.nan), False
    own = {"l2": "l2", "rel_l2": "l2", "rms": "l2", "linf": "linf"}[metric]
    if m.norm != own or not m.correct:
        return math.nan, False
    if m.success:
        return getattr(m, metric), False
    reach = m.reached
    if metric == "rel_l2":
        reach = reach / m.image_l2 if m.image_l2 > 0 else math.nan
    elif metric == "rms":
        reach = reach / math.sqrt(3 * m.resolution ** 2)
    return reach, not math.isnan(reach)


@dataclass
class ConvergenceCheck:
    """A subset re-run with twice the steps: how much the median minimal norm moved."""

    resolution: int
    norm: str
    images: int
    median: float  # the lab's steps, on the subset
    median_doubled: float  # twice the steps, same images
    steps: int

    @property
    def change(self) -> float:
        return (self.median_doubled - self.median) / self.median if self.median > 0 else math.nan

    @property
    def converged(self) -> bool:
        return bool(abs(self.change) <= CONVERGENCE_WARN) if np.isfinite(self.change) else False

    def to_dict(self) -> dict:
        return asdict(self) | {"change": self.change, "converged": self.converged}


@dataclass
class ResolutionLabResult:
    config: ResolutionLabConfig
    model_name: str
    model_mode: str  # native | resize
    notes: list[str]
    image_names: list[str]
    measurements: list[Measurement] = field(default_factory=list)
    skipped: dict[int, int] = field(default_factory=dict)  # misclassified images per size (all seeds)
    clean_accuracy: dict[int, float] = field(default_factory=dict)  # mean over seeds
    fits: dict[str, SlopeFit] = field(default_factory=dict)
    joint: JointVerdict | None = None
    verdicts: list[str] = field(default_factory=list)  # the joint sentence first, then one line per metric
    strip: dict[int, np.ndarray] = field(default_factory=dict)  # (3, s, s) L2 perturbation of one image
    strip_image: str = ""
    done: int = 0
    total: int = 0
    models: dict[int, list[str]] = field(default_factory=dict)  # the models attacked at each size, by seed
    missing_models: list[int] = field(default_factory=list)  # per-resolution mode: sizes with no model, skipped
    replicates: int = 1
    convergence: list[ConvergenceCheck] = field(default_factory=list)
    prediction_changes: float | None = None  # unlabelled images: share whose clean prediction varies by size
    diagnostics: dict[str, dict[str, int]] = field(default_factory=dict)  # '64px l2' -> indicator -> images

    @property
    def model_choice(self) -> str:
        """'single' (one model sees every resolution) or 'per-resolution' (a model trained at each size)."""
        return "per-resolution" if self.config.per_resolution else "single"

    def paired_table(self, metric: str) -> tuple[list[int], np.ndarray, np.ndarray]:
        """(sizes, values, censored), values shaped seeds x images x sizes (NaN: not measured)."""
        sizes = self.config.resolutions
        index = {name: i for i, name in enumerate(self.image_names)}
        col = {s: j for j, s in enumerate(sizes)}
        clean_norm = self.config.norms[0]
        values = np.full((self.replicates, len(self.image_names), len(sizes)), np.nan)
        censored = np.zeros(values.shape, bool)
        for m in self.measurements:
            if metric in CLEAN_METRICS and m.norm != clean_norm:
                continue
            value, is_censored = metric_value(m, metric)
            if not np.isnan(value) and m.resolution in col:
                values[m.replicate, index[m.image], col[m.resolution]] = value
                censored[m.replicate, index[m.image], col[m.resolution]] = is_censored
        return sizes, values, censored

    def table(self, metric: str, norm: str | None = None) -> tuple[list[int], np.ndarray]:
        """(resolutions, (seeds * images) x resolutions of `metric`, found values only; NaN = missing).

        `norm` is accepted for the callers that name the attack's norm; each metric has its own."""
        sizes, values, censored = self.paired_table(metric)
        values = np.where(censored, np.nan, values)
        return sizes, values.reshape(-1, len(sizes))

    def medians(self, metric: str, norm: str | None = None) -> list[float]:
        _, t = self.table(metric)
        with np.errstate(all="ignore"):
            return [float(np.nanmedian(t[:, j])) if np.isfinite(t[:, j]).any() else float("nan")
                    for j in range(t.shape[1])]

    def means(self, metric: str, norm: str | None = None) -> list[float]:
        _, t = self.table(metric)
        with np.errstate(all="ignore"):
            return [float(np.nanmean(t[:, j])) if np.isfinite(t[:, j]).any() else float("nan")
                    for j in range(t.shape[1])]

    def censored_counts(self) -> dict[str, int]:
        """Failed searches per norm (correct images the attack found no adversarial for)."""
        return {norm: sum(1 for m in self.measurements if m.norm == norm and m.correct and not m.success)
                for norm in self.config.norms}

    def refit(self, boot: int = 200) -> None:
        """Paired slopes for every metric measured so far, then the joint verdict and the lines."""
        if len({m.resolution for m in self.measurements}) < 2:
            return
        metrics = [m for m in ("l2", "rel_l2", "rms") if "l2" in self.config.norms]
        metrics += ["linf"] if "linf" in self.config.norms else []
        fits = {}
        for metric in [*metrics, *CLEAN_METRICS]:
            sizes, values, censored = self.paired_table(metric)
            fits[metric] = paired_slope(sizes, values, metric, censored, boot, self.config.seed)
        self.fits = fits
        self.joint = joint_verdict(fits)
        self.verdicts = [self.joint.sentence, *(metric_verdict(f) for f in fits.values())]

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
            "replicates": self.replicates,
            "notes": self.notes,
            "joint_verdict": self.joint.to_dict() if self.joint else None,
            "fits": {k: v.to_dict() for k, v in self.fits.items()},
            "verdicts": self.verdicts,
            "skipped": {str(k): v for k, v in self.skipped.items()},
            "clean_accuracy": {str(k): v for k, v in self.clean_accuracy.items()},
            "failed_searches": self.censored_counts(),
            "convergence": [c.to_dict() for c in self.convergence],
            "prediction_changes": self.prediction_changes,
            "mean_gradient_norms": {m: self.means(m) for m in GRADIENT_METRICS},
            "median_first_order": {m: self.medians(m) for m in FIRST_ORDER_METRICS},
            "medians": {f"{metric}/{own}": self.medians(metric) for metric, own in
                        (("l2", "l2"), ("rel_l2", "l2"), ("rms", "l2"), ("linf", "linf"))
                        if own in self.config.norms},
            "measurements": [asdict(m) for m in self.measurements],
            "diagnostics": self.diagnostics,
        }
