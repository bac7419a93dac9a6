"""Paired log-log slopes: one slope per image (and training seed) across the sizes, their median, and a
bootstrap interval over images and seeds; failed searches enter as censored values, not as gaps.

Slopes are against the side length s of an s x s image (n = c*s^2 values, so a slope against n is half
the slope against s). Each image is measured at every size, so its own slope — the least-squares line
through its (log s, log y) points — removes the image-to-image spread that a fit of cross-sectional
medians carries, and images misclassified at some sizes still count at the others.

A failed search is right-censored: the true minimal norm (as far as the attack can tell) is at least the
norm the search reached. The slope is linear in each log y_j with weight w_j = (u_j - mean u) / S_uu
(u = log s), so a censored point bounds the image's slope on one side: from below when w_j > 0, from above
when w_j < 0. Medians of the lower and of the upper bounds then bound the median slope; the interval
runs from the bootstrap's 2.5% quantile of the first to the 97.5% quantile of the second, so censoring
widens the interval instead of silently dropping the hardest images.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class SlopeFit:
    metric: str
    slope: float  # median over images (and seeds) of the per-image slopes against s
    low: float  # bootstrap 2.5% quantile (of the lower bounds where searches failed)
    high: float  # bootstrap 97.5% quantile (of the upper bounds)
    intercept: float  # of the line log(y) = intercept + slope * log(s) through the per-size medians
    resolutions: int
    images: int  # images with a slope (at least two sizes measured), summed over seeds
    seeds: int = 1
    censored: int = 0  # measurements that entered as censored (failed searches)

    @property
    def slope_vs_pixels(self) -> float:
        return self.slope / 2

    @property
    def finite(self) -> bool:
        return bool(np.isfinite(self.slope))

    def contains(self, value: float, tolerance: float = 0.0) -> bool:
        """Whether `value` lies in the interval, widened by `tolerance` on each side."""
        return bool(self.low - tolerance <= value <= self.high + tolerance)

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


def per_image_slopes(sizes: list[int], values: np.ndarray,
                     censored: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(plug-in slope, lower bound, upper bound) per row of `values` (rows x sizes; NaN = not measured).

    Where `censored` is True the value is a lower bound of the truth; the plug-in slope uses it as if
    exact. Rows with fewer than two measured sizes give NaN. Without censoring the three agree."""
    values = np.asarray(values, float)
    censored = np.zeros(values.shape, bool) if censored is None else np.asarray(censored, bool)
    u = np.log(np.asarray(sizes, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), -np.inf)
    measured = (np.isfinite(values) & (values > 0)) | (censored & ~np.isnan(values))
    count = measured.sum(axis=1)
    um = np.where(measured, u, 0.0).sum(axis=1) / np.maximum(count, 1)
    du = np.where(measured, u[None, :] - um[:, None], 0.0)
    suu = (du ** 2).sum(axis=1)
    ok = (count >= 2) & (suu > 0)
    w = np.where(ok[:, None], du / np.where(suu > 0, suu, 1.0)[:, None], 0.0)
    exact = measured & ~censored
    with np.errstate(invalid="ignore"):
        base = np.where(exact, w * np.where(exact, logs, 0.0), 0.0).sum(axis=1)
        # w * log c: the censored point's share of the slope at its bound (-inf or +inf where c <= 0)
        bound = np.where(censored & measured & (w != 0), w * logs, 0.0)
    up_side = censored & measured & (w > 0)  # the truth can only raise the slope here
    down_side = censored & measured & (w < 0)  # ... and only lower it here
    point = base + np.where(censored & measured, bound, 0.0).sum(axis=1)
    low = base + np.where(up_side, bound, 0.0).sum(axis=1)
    low = np.where(down_side.any(axis=1), -np.inf, low)
    high = base + np.where(down_side, bound, 0.0).sum(axis=1)
    high = np.where(up_side.any(axis=1), np.inf, high)
    nan = np.full(len(values), np.nan)
    return np.where(ok, point, nan), np.where(ok, low, nan), np.where(ok, high, nan)


def _median_rows(a: np.ndarray) -> np.ndarray:
    """Median along the last axis, NaN left out, NaN where nothing is left. Infinite bounds are kept:
    the median of lower bounds is -inf only when at least half of them are."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=-1)


def paired_slope(sizes: list[int], values: np.ndarray, metric: str, censored: np.ndarray | None = None,
                 boot: int = 1000, seed: int = 0) -> SlopeFit:
    """The median per-image slope of `values` (seeds x images x sizes, or images x sizes) with a bootstrap
    95% interval: seeds resampled with replacement, then images (the same images on every seed)."""
    values = np.asarray(values, float)
    if values.ndim == 2:
        values = values[None]
        censored = None if censored is None else np.asarray(censored, bool)[None]
    censored = np.zeros(values.shape, bool) if censored is None else np.asarray(censored, bool)
    seeds, images, _ = values.shape
    flat_v, flat_c = values.reshape(seeds * images, -1), censored.reshape(seeds * images, -1)
    point, low, high = (a.reshape(seeds, images) for a in per_image_slopes(sizes, flat_v, flat_c))
    slope = float(_median_rows(point.reshape(-1)[None])[0])
    lows, highs = [], []
    if images >= 2 and boot > 0:
        rng = np.random.default_rng(seed)
        pick_seed = rng.integers(0, seeds, (boot, seeds))
        pick_image = rng.integers(0, images, (boot, images))
        rows = pick_seed[:, :, None]
        cols = pick_image[:, None, :]
        lows = _median_rows(low[rows, cols].reshape(boot, -1))
        highs = _median_rows(high[rows, cols].reshape(boot, -1))
        lows, highs = lows[~np.isnan(lows)], highs[~np.isnan(highs)]
    # no interpolation between order statistics: an infinite bound must not turn into NaN
    lo = float(np.percentile(lows, 2.5, method="lower")) if len(lows) else float("nan")
    hi = float(np.percentile(highs, 97.5, method="higher")) if len(highs) else float("nan")
    with np.errstate(all="ignore"):
        pooled = np.where(flat_c, np.nan, flat_v)
        medians = np.array([np.nanmedian(col) if np.isfinite(col).any() else np.nan for col in pooled.T])
    u = np.log(np.asarray(sizes, float))
    keep = np.isfinite(medians) & (medians > 0)
    intercept = (float(np.mean(np.log(medians[keep])) - slope * np.mean(u[keep]))
                 if keep.any() and np.isfinite(slope) else float("nan"))
    has_slope = int(np.isfinite(point).sum())
    columns = int(((np.isfinite(flat_v) & (flat_v > 0)) | flat_c).any(axis=0).sum())
    used_seeds = int(np.isfinite(point).any(axis=1).sum())
    return SlopeFit(metric, slope, lo, hi, intercept, columns, has_slope, max(used_seeds, 1),
                    int((flat_c & ~np.isnan(flat_v)).sum()))
