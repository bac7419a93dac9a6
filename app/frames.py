"""What the Explorer's views draw, built from what the engine sends: numpy only, no Qt, no torch.

Design note. A `Frame` is plain numbers and arrays. It is made from an engine `Prediction` (the
input and its clean prediction), from a run's shared-memory frame (`FrameData`: the adversarial
image, its top-k and metrics) beside the original the run started from, or from a saved
`RunRecord` alone (records keep the final top-k, so showing a saved run needs no model). The
perturbation maps and norms are computed here with numpy on the small display image; no forward
pass and no tensor is involved. Curves are decimated to about the plot's pixel width with a
min/max (peak) rule, so drawing a long run costs what drawing a short one costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from advlens.engine.units import grey_levels

L0_TOLERANCE = 1e-6  # as the engine's L0 count (norms.L0_TOLERANCE): changed values, not rounding noise
PLOTTED = ("loss", "margin", "true_prob", "target_prob", "l2", "linf")


@dataclass
class Frame:
    """Everything the views draw, as plain numbers and arrays (no tensors)."""

    original: np.ndarray  # (H, W, 3) float32 in [0, 1]
    clean_label: str
    clean_conf: float
    true_label: str
    target_label: str | None = None
    adversarial: np.ndarray | None = None
    perturbation: np.ndarray | None = None  # (H, W) signed channel mean of the perturbation
    perturbation_peak: float = 0.0
    difference: np.ndarray | None = None  # (H, W) |delta| summed over channels
    adv_label: str = ""
    adv_conf: float = 0.0
    success: bool | None = None
    topk_labels: list[str] = field(default_factory=list)
    topk_probs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step: int = 0
    total_steps: int = 0
    stage: str = ""
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    series: dict[str, np.ndarray] = field(default_factory=dict)
    series_changed: bool = True  # False: the curves are as in the last frame (the views skip redrawing them)
    final: bool = False  # a run's end state (or a saved run's): every text is drawn at once
    norms: dict[str, float] = field(default_factory=dict)
    steps_per_second: float = 0.0
    # display scales that change in steps (1-2-5), so the colour bars and plot axes are not re-laid out
    # every frame: the maps' full-colour values, and the curves' y ranges by plot (empty: autorange)
    perturbation_scale: float = 0.0
    difference_scale: float = 0.0
    curve_ranges: dict[int, tuple[float, float]] = field(default_factory=dict)


def label_of(names: Sequence[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else f"class {index}"


def nice_ceiling(value: float, floor: float = 1e-6) -> float:
    """The smallest of 1, 2, 5 x 10^k at or above `value`: a scale that moves only now and then."""
    value = max(float(value), floor)
    exponent = np.floor(np.log10(value))
    for step in (1.0, 2.0, 5.0, 10.0):
        candidate = step * 10.0 ** exponent
        if candidate >= value * (1 - 1e-9):
            return float(candidate)
    return float(10.0 ** (exponent + 1))


# plot index -> its series: the loss plot's range is fixed here; probabilities are 0..1 and the norm axes fix
# their own tops (MetricPlots)
CURVE_PLOTS = {0: ("loss", "margin")}


def grow_ranges(series: dict[str, np.ndarray], ranges: dict[int, tuple[float, float]]) -> dict[int, tuple[float, float]]:
    """Y ranges that only grow, snapped to 1-2-5 steps with some headroom, to hold every finite value:
    an axis that does not move is not re-laid out and re-ticked on every redraw."""
    out = dict(ranges)
    for plot, names in CURVE_PLOTS.items():
        finite = [v[np.isfinite(v)] for v in (np.asarray(series[n], np.float64) for n in names if n in series)]
        finite = [v for v in finite if len(v)]
        if not finite:
            continue
        lo, hi = float(min(v.min() for v in finite)), float(max(v.max() for v in finite))
        if plot in out and out[plot][0] <= lo and hi <= out[plot][1]:
            continue
        if plot in out:
            lo, hi = min(lo, out[plot][0]), max(hi, out[plot][1])
        step = nice_ceiling(max(hi - lo, abs(hi), 1e-3) * 0.25)
        bottom, top = np.floor(lo / step) * step, np.ceil(hi / step) * step
        if top - hi < step * 0.5:
            top += step
        if lo - bottom < step * 0.5 and lo < 0:
            bottom -= step
        out[plot] = (float(bottom), float(top))
    return out


def perturbation_norms(delta: np.ndarray) -> dict[str, float]:
    """L0 (values changed), L1, L2 and Linf of one perturbation, as the engine measures them."""
    flat = np.asarray(delta, np.float64).reshape(-1)
    return {"l0": float(np.count_nonzero(np.abs(flat) > L0_TOLERANCE)), "l1": float(np.abs(flat).sum()),
            "l2": float(np.sqrt(np.sum(flat * flat))), "linf": float(np.abs(flat).max(initial=0.0))}


def rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 from (H, W, C) with C 1 or 3 (a grey input drawn grey).

    A float32 RGB array comes back as itself, so the view can tell an unchanged input by identity: an
    array unpickled from the engine has an equal but distinct dtype object, for which `np.asarray(image,
    np.float32)` made a new view on every frame and the original pane was redrawn each time.
    """
    image = np.asarray(image)
    if image.dtype != np.float32:
        image = image.astype(np.float32)
    return np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image


def idle_frame(image: np.ndarray, names: Sequence[str], pred: int | None, conf: float, true_label: str,
               target_label: str | None, topk_index: Sequence[int] = (), topk_prob: Sequence[float] = ()) -> Frame:
    """The input and its clean prediction, before any run (pred None: no model has seen it yet)."""
    return Frame(original=rgb(image), clean_label=label_of(names, pred) if pred is not None else "",
                 clean_conf=float(conf), true_label=true_label, target_label=target_label,
                 topk_labels=[label_of(names, int(i)) for i in topk_index],
                 topk_probs=np.asarray(topk_prob, dtype=float))


def attack_frame(original: np.ndarray, adversarial: np.ndarray, names: Sequence[str], clean: tuple[int, float],
                 topk_index: Sequence[int], topk_prob: Sequence[float], success: bool, true_label: str,
                 target_label: str | None) -> Frame:
    """A frame of a run: the maps and norms of (adversarial - original), the bars from the top-k."""
    original, adversarial = rgb(original), rgb(adversarial)
    delta = adversarial - original
    norms = perturbation_norms(delta)
    difference = np.abs(delta).sum(axis=2)
    clean_pred, clean_conf = clean
    topk_index = [int(i) for i in topk_index]
    return Frame(
        original=original,
        clean_label=label_of(names, clean_pred),
        clean_conf=float(clean_conf),
        true_label=true_label,
        target_label=target_label,
        adversarial=adversarial,
        perturbation=delta.mean(axis=2),
        perturbation_peak=norms["linf"],
        difference=difference,
        perturbation_scale=nice_ceiling(norms["linf"]),
        difference_scale=nice_ceiling(float(difference.max(initial=0.0))),
        adv_label=label_of(names, topk_index[0]) if topk_index else "",
        adv_conf=float(topk_prob[0]) if len(topk_prob) else 0.0,
        success=bool(success),
        topk_labels=[label_of(names, i) for i in topk_index],
        topk_probs=np.asarray(topk_prob, dtype=float),
        norms=norms,
    )


def plot_series(steps: np.ndarray, metrics: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(steps, series) named like the live plots: Linf in /255 units."""
    series = {name: np.asarray(metrics[name], np.float64) for name in ("loss", "margin", "true_prob", "target_prob", "l2")
              if name in metrics}
    if "linf" in metrics:
        series["linf_255"] = grey_levels(np.asarray(metrics["linf"], np.float64))
    return np.asarray(steps, np.float64), series


def decimate(steps: np.ndarray, series: dict[str, np.ndarray], width: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """At most about 3 x `width` points per curve: each of `width` buckets keeps its first point and where
    each series is lowest and highest in it (NaN ignored), so spikes stay visible however long the run.
    Runs shorter than that are left whole."""
    n = len(steps)
    if width < 1 or n <= 3 * width:
        return steps, series
    edges = np.linspace(0, n, width + 1).astype(np.int64)
    bucket = np.repeat(np.arange(width), np.diff(edges))
    keep = [edges[:-1], np.array([n - 1])]
    for values in series.values():
        finite = np.isfinite(values)
        if not finite.any():
            continue
        low = np.lexsort((np.where(finite, values, np.inf), bucket))  # by bucket, then by value
        high = np.lexsort((np.where(finite, values, -np.inf), bucket))
        keep += [low[edges[:-1]], high[edges[1:] - 1]]
    index = np.unique(np.concatenate(keep))
    return steps[index], {name: values[index] for name, values in series.items()}


def record_frame(record) -> Frame:
    """The end state of a saved run, from the record alone (no model, no re-run)."""
    names = record.class_names
    target = record.config.attack.target
    topk_index = list(record.adv_topk_index[0]) if getattr(record, "adv_topk_index", None) else [record.adv_pred[0]]
    topk_prob = list(record.adv_topk_prob[0]) if getattr(record, "adv_topk_prob", None) else [record.adv_conf[0]]
    frame = attack_frame(record.original[0].transpose(1, 2, 0), record.adversarial[0].transpose(1, 2, 0), names,
                         (record.clean_pred[0], record.clean_conf[0]), topk_index, topk_prob, bool(record.success[0]),
                         label_of(names, record.labels[0]), label_of(names, target) if target is not None else None)
    # the record's own numbers, as the engine measured them on the full-precision arrays
    frame.adv_label = label_of(names, record.adv_pred[0])
    frame.adv_conf = float(record.adv_conf[0])
    frame.perturbation_peak = float(record.norms["linf"][0])
    frame.norms = {name: float(record.norms[name][0]) for name in ("l0", "l1", "l2", "linf") if name in record.norms}
    frame.step = record.steps_run
    frame.final = True
    count = next(iter(record.metrics.values())).shape[0] if record.metrics else 0
    frame.steps, frame.series = plot_series(np.arange(count), {k: v[:, 0] for k, v in record.metrics.items()})
    return frame
