"""Log-log slope fits with bootstrap intervals, and what each reading of Dube's claim predicts.

Slopes are against the side length s of an s x s image (n = c*s^2 values, so a slope against n is
half the slope against s). The predictions are SCIENCE.md's [derived] table.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# metric -> reading -> predicted log-log slope against the side length s
PREDICTIONS: dict[str, dict[str, float]] = {
    "l2": {"Dube A (fixed-norm images, n = pixels)": 0.0, "Dube B (raw norm, n = pixels)": -1.0,
           "Dube C (raw norm, n = side)": -0.5, "Simon-Gabriel (first order)": 0.0},
    "rel_l2": {"Dube A": -1.0, "Dube B": -2.0, "Dube C": -1.5, "Simon-Gabriel": -1.0},
    "rms": {"Dube A": -1.0, "Dube B": -2.0, "Dube C": -1.5, "Simon-Gabriel": -1.0},
    "linf": {"Simon-Gabriel (first order)": -1.0},
    "first_order_l2": {"Dube B": -1.0, "Dube C": -0.5, "Simon-Gabriel": 0.0},
    "first_order_linf": {"Simon-Gabriel": -1.0},
}
METRIC_TITLES = {"l2": "raw L2", "rel_l2": "relative L2 (‖δ‖₂/‖x‖₂)", "rms": "RMS",
                 "linf": "Linf", "grad_l1": "mean ‖∂L/∂x‖₁", "grad_l2": "mean ‖∂L/∂x‖₂",
                 "first_order_l2": "first-order L2 (margin/‖∇margin‖₂)",
                 "first_order_linf": "first-order Linf (margin/‖∇margin‖₁)"}


@dataclass
class SlopeFit:
    metric: str
    slope: float  # against the side length s
    low: float  # bootstrap 2.5% quantile
    high: float  # bootstrap 97.5% quantile
    intercept: float  # of log(y) = intercept + slope * log(s)
    resolutions: int
    images: int

    @property
    def slope_vs_pixels(self) -> float:
        return self.slope / 2

    def to_dict(self) -> dict:
        return asdict(self) | {"slope_vs_pixels": self.slope_vs_pixels}


def fit_loglog(sizes: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """(slope, intercept) of the least-squares line through (log s, log y); non-positive y dropped."""
    sizes, values = np.asarray(sizes, float), np.asarray(values, float)
    keep = np.isfinite(values) & (values > 0)
    if keep.sum() < 2:
        return float("nan"), float("nan")
    slope, intercept = np.polyfit(np.log(sizes[keep]), np.log(values[keep]), 1)
    return float(slope), float(intercept)


def median_slope_with_interval(sizes: list[int], table: np.ndarray, metric: str, boot: int = 1000,
                               seed: int = 0, statistic: str = "median") -> SlopeFit:
    """Fit the per-resolution medians (or means) of `table` (images x resolutions, NaN = missing) and
    bootstrap the images (resampled with replacement) for a 95% interval of the slope."""
    reduce = np.nanmedian if statistic == "median" else np.nanmean
    sizes_arr = np.asarray(sizes, float)
    table = np.asarray(table, float)

    def slope_of(rows: np.ndarray) -> tuple[float, float]:
        with np.errstate(all="ignore"):
            medians = np.array([reduce(rows[:, j]) if np.isfinite(rows[:, j]).any() else np.nan
                                for j in range(rows.shape[1])])
        return fit_loglog(sizes_arr, medians)

    slope, intercept = slope_of(table)
    rng = np.random.default_rng(seed)
    n = table.shape[0]
    samples = []
    if n >= 2:
        for _ in range(boot):
            s, _ = slope_of(table[rng.integers(0, n, n)])
            if np.isfinite(s):
                samples.append(s)
    low, high = (np.percentile(samples, [2.5, 97.5]) if samples else (np.nan, np.nan))
    usable = int(np.isfinite(table).any(axis=1).sum())
    columns = int(np.isfinite(table).any(axis=0).sum())
    return SlopeFit(metric, slope, float(low), float(high), intercept, columns, usable)


def verdict(fit: SlopeFit) -> str:
    """One sentence: the fitted slope, its interval, and which readings it is consistent with."""
    title = METRIC_TITLES.get(fit.metric, fit.metric)
    if not np.isfinite(fit.slope):
        return f"{title}: not enough data for a slope"
    head = (f"{title} slope {fit.slope:+.2f} (95% CI {fit.low:+.2f} to {fit.high:+.2f}) over "
            f"{fit.resolutions} resolutions, {fit.images} images")
    readings = PREDICTIONS.get(fit.metric)
    if not readings:
        return head
    inside = [f"{name} ({value:+g})" for name, value in readings.items() if fit.low <= value <= fit.high]
    outside = [f"{name} ({value:+g})" for name, value in readings.items() if not fit.low <= value <= fit.high]
    parts = []
    if inside:
        parts.append("consistent with " + ", ".join(inside))
    if outside:
        parts.append("not consistent with " + ", ".join(outside))
    return head + ": " + "; ".join(parts)
