"""The Stability lab's words: what it measures, how it stands to the theorem, the verdict, the table."""

from __future__ import annotations

import math

import numpy as np

from .stability_config import StabilityConfig
from .stability_results import (
    ACCURATE_STABLE,
    ACCURATE_UNSTABLE,
    INACCURATE,
    SettingRow,
    StabilityResult,
    median_of,
)

ABOUT = (
    "Bastounis, Hansen and Vlačić (arXiv 2109.06098) prove that training ReLU networks of a fixed "
    "architecture for classification gives networks that are inaccurate or, if accurate, unstable, although "
    "accurate and stable networks exist for the same problems. This lab builds one family of such problems: "
    "x uniform in [0,1]^d, label floor(K·x1) mod 2 (K stripes), keeping only points at least δ = 0.1/K from "
    "every stripe edge, so every point has a certified clean margin δ. Two sweeps: over K (and d) at 2,000 "
    "training points, where the fixed net runs out of linear pieces (the inaccurate branch), and over the "
    "training-set size n at a K the fixed net learns (the other branch: networks that generalise yet are "
    "unstable). For each setting it trains one fixed ReLU MLP (the same width and depth everywhere) with Adam "
    "from several seeds, until the loss stops falling, and beside it three networks that grow with the "
    "problem: a hand-built zigzag in x1 with 2(K−1) ReLUs that changes class only at the stripe edges (its "
    "distance to a class change is exactly the point's distance to the nearest edge, ≥ δ), 1-nearest-neighbour "
    "written as a ReLU max-network over the n training points (certified L2 radius (b−a)/2), and an MLP of "
    "width max(width, 4K, √(n + test points)) trained like the fixed one. For up to 200 correctly classified "
    "held-out and 200 training points per network the lab measures the distance to the nearest change of "
    "class: an exact scan along ±e1 (the network is piecewise linear along a line, so walking its linear "
    "pieces finds the first change exactly), the engine's PGD with a bisection on the budget in L2 and Linf "
    "(every value is a checked adversarial point, so an upper bound), and a certified lower bound by interval "
    "bound propagation (IBP). Each run is classed: inaccurate below 95% held-out accuracy; otherwise unstable "
    "when more than 5% of its measured held-out or training points have an adversarial closer than δ, and "
    "stable if not. ρ = median distance / δ is shown as well; the dotted line is ρ of the true stripe "
    "classifier (about 3.4δ: the outer stripes are wider)."
)

THEOREM = (
    "How this stands to the theorem, as far as known (only the abstract and a third-party summary were "
    "read): the theorem is worst case over classification problems whose classes are separated; the stripes "
    "are one such family (classes at least 2δ apart in every norm), and the zigzag shows that accurate and "
    "stable ReLU networks exist for every K. The summary ties the theorem's condition to the number of "
    "training and validation points against the product of the network's widths, which is what the sweep "
    "over n varies at a fixed K. Unverified here: the theorem's exact domain, margin, norms and radii (the "
    "lab measures L2 and Linf against δ; 'unstable' means more than 5% of the points within δ), and how its "
    "point counts map onto n."
)

DEPARTURES = (
    "Where this departs from the paper: (1) the theorem is worst case over classification problems; "
    "this is one family (stripes), so it can illustrate the paradox, not prove or refute it. "
    "(2) The theorem concerns exact minimisers of the training cost; Adam finds approximate ones. "
    "(3) Attack distances (exact e1 scan, PGD with bisection) are upper bounds of the minimal "
    "adversarial distance, and interval bounds are loose lower bounds. "
    "(4) The paper's second result (no randomised algorithm computes the stable networks with "
    "probability above 1/2, from inexact input) cannot be simulated here; the seeds only count "
    "how often training ends in each class. "
    "(5) The abstract says the stable networks need dimensions that vary with the problem; here the "
    "widened MLP grows with K and with n, the 1-NN with n. " + THEOREM
)

VERDICTS = ("agrees-unstable", "agrees-inaccurate", "disagrees", "inconclusive")


def _hardest(rows: list[SettingRow], config: StabilityConfig | None) -> tuple[str, int, list[SettingRow]]:
    swept = config.swept if config is not None else "stripes"
    top = max(getattr(r, swept) for r in rows)
    return swept, top, [r for r in rows if getattr(r, swept) == top]


def _counts(rows: list[SettingRow]) -> dict[str, int]:
    total = {c: 0 for c in (ACCURATE_STABLE, ACCURATE_UNSTABLE, INACCURATE)}
    for r in rows:
        for c, n in r.counts().items():
            total[c] += n
    return total


def verdict(rows: list[SettingRow], config: StabilityConfig | None = None) -> str:
    """Which branch the hardest setting of the sweep (largest K, or largest n) shows for the fixed net:
    'disagrees' (an accurate and stable fixed run where the paper predicts instability), 'agrees-unstable'
    (its accurate runs are all unstable), 'agrees-inaccurate' (no accurate run at all: the trivial branch),
    or 'inconclusive' (the stable construction failed, or nothing ran)."""
    if not rows or not all(r.zigzag.stable for r in rows):
        return "inconclusive"
    _, _, top = _hardest(rows, config)
    counts = _counts(top)
    if counts[ACCURATE_STABLE]:
        return "disagrees"
    return "agrees-unstable" if counts[ACCURATE_UNSTABLE] else "agrees-inaccurate"


def verdict_sentence(rows: list[SettingRow], config: StabilityConfig) -> str:
    if not rows:
        return "No setting finished."
    swept, top, hard = _hardest(rows, config)
    where = f"{'K' if swept == 'stripes' else 'n'} = {top}"
    c = _counts(hard)
    runs = sum(c.values())
    classes = f"{c[ACCURATE_STABLE]} accurate & stable, {c[ACCURATE_UNSTABLE]} accurate & unstable, " \
              f"{c[INACCURATE]} inaccurate of {runs} fixed-architecture runs"
    v = verdict(rows, config)
    if v == "disagrees":
        return (f"Disagrees with the paper on this family: at {where} ({classes}) the fixed architecture ended "
                "accurate and stable where the paper predicts instability. The theorem is worst case over "
                "problems, so one family cannot refute it; this family at this size does not force the paradox.")
    if v == "agrees-unstable":
        return (f"Agrees with the paper's distinctive branch: at {where} ({classes}) every accurate "
                "fixed-architecture run is unstable, while a ReLU network that grows with the problem is "
                "accurate and stable.")
    if v == "agrees-inaccurate":
        return (f"Agrees only through the inaccurate branch: at {where} ({classes}) no fixed-architecture run is "
                "accurate, which any undersized or under-trained network gives; the accurate-but-unstable "
                "branch is not shown" + (" (the sweep over n tests it)." if swept == "stripes" else "."))
    return "Inconclusive: the stable construction did not hold everywhere (check the zigzag)."


def _pct(value: float) -> str:
    return "—" if value != value else f"{value:.0%}"


def _rho_text(value: float) -> str:
    return "∞" if value == math.inf else ("—" if value != value else f"{value:.2g}")


def summarise(result: StabilityResult) -> str:
    """The verdict sentence first, then a few sentences on what the run shows."""
    rows, cfg = result.rows, result.config
    if not rows:
        return "No setting finished."
    arch = "→".join(["d", *[str(cfg.width)] * cfg.depth, "1"])
    swept = cfg.swept
    label = "K" if swept == "stripes" else "n"
    parts = [verdict_sentence(rows, cfg)]
    for dim in sorted({r.dim for r in rows}):
        sweep = sorted((r for r in rows if r.dim == dim), key=lambda r: getattr(r, swept))
        counts = ", ".join(f"{label}={getattr(r, swept)}: {'/'.join(str(v) for v in r.counts().values())}"
                           for r in sweep)
        parts.append(f"Fixed {arch} MLP at d={dim} (accurate & stable / accurate & unstable / inaccurate): "
                     f"{counts}; held-out accuracy {_pct(sweep[0].fixed_accuracy)} → {_pct(sweep[-1].fixed_accuracy)}.")
    accurate = [run for r in rows for run in r.fixed_runs if run.accurate]
    if accurate:
        worst = max(_largest(run.share_below_margin, run.share_below_margin_train) for run in accurate)
        parts.append(f"Accurate fixed runs: at most {_pct(worst)} of their measured points within δ; the closest "
                     f"adversarial any of them has lies at {_min_over_delta(rows)}.")
    else:
        parts.append("No fixed run was accurate.")
    zig_ok = all(r.zigzag.stable for r in rows)
    wide_ok = sum(r.wide.stable for r in rows)
    zig_text = (f"accurate and stable everywhere (ρ ≥ {_rho_text(min(r.zigzag.rho for r in rows))})" if zig_ok
                else "NOT accurate and stable everywhere (check the construction)")
    parts.append(f"Zigzag (2(K−1) ReLUs): {zig_text}; widened MLP (Adam, to a plateau): accurate and stable at "
                 f"{wide_ok} of {len(rows)} settings; 1-NN: at {sum(r.nearest.stable for r in rows)}.")
    return " ".join(parts)


def _largest(*values: float) -> float:
    known = [v for v in values if not math.isnan(v)]
    return max(known) if known else math.nan


def _smallest(*values: float) -> float:
    known = [v for v in values if not math.isnan(v)]
    return min(known) if known else math.nan


def _min_over_delta(rows: list[SettingRow]) -> str:
    """The smallest distance of an accurate fixed run in units of its own setting's δ."""
    ratios = [_smallest(run.min_distance, run.min_distance_train) / r.margin
              for r in rows for run in r.fixed_runs if run.accurate]
    ratios = [v for v in ratios if not math.isnan(v)]
    return f"{_rho_text(min(ratios))}δ" if ratios else "—"


def table_rows(result_rows: list[SettingRow], norm: str = "l2") -> tuple[list[str], list[list[str]]]:
    """Headers and text cells for the table (CLI and GUI show the same); ρ in `norm` unless labelled."""
    other = "linf" if norm == "l2" else "l2"
    names = {"l2": "L2", "linf": "Linf"}
    headers = ["K", "d", "n", "δ", "fixed acc", "fixed AS/AU/I", "fixed < δ", f"fixed ρ {names[norm]}",
               f"fixed ρ {names[other]}", "fixed ρ IBP", "zigzag acc", "zigzag ρ", "1-NN acc", "1-NN ρ",
               "1-NN ρ proven", "wide", "wide acc", "wide < δ", "wide ρ"]
    cells = []
    for r in result_rows:
        other_rho = median_of(np.array([getattr(run, f"rho_{other}") for run in r.fixed_runs]))
        cells.append([str(r.stripes), str(r.dim), str(r.train_points), f"{r.margin:.4f}", _pct(r.fixed_accuracy),
                      "/".join(str(v) for v in r.counts().values()), _pct(r.fixed_share_below),
                      _rho_text(r.fixed_rho), _rho_text(other_rho), _rho_text(r.fixed_rho_certified),
                      _pct(r.zigzag.test_accuracy), _rho_text(r.zigzag.rho), _pct(r.nearest.test_accuracy),
                      _rho_text(r.nearest.rho), _rho_text(r.nearest.rho_proven), str(r.wide.hidden[0]),
                      _pct(r.wide.test_accuracy),
                      _pct(_largest(r.wide.share_below_margin, r.wide.share_below_margin_train)),
                      _rho_text(r.wide.rho)])
    return headers, cells
