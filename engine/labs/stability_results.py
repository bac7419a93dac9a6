"""The Stability lab's configuration, results and words as plain data (numpy only, no torch).

The lab runs in the engine process (`stability.py`); its snapshots and results cross to the GUI
process pickled, so these classes, and the text both the CLI and the GUI show, live where importing
them loads no torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..errors import ConfigError

NORMS = ("l2", "linf")
KINDS = ("fixed", "zigzag", "nearest", "wide")
KIND_TITLES = {
    "fixed": "fixed MLP",
    "zigzag": "zigzag (2(K-1) units)",
    "nearest": "1-NN as ReLU max-net",
    "wide": "widened MLP",
}

ABOUT = (
    "Bastounis, Hansen and Vlačić (arXiv 2109.06098) prove that training ReLU networks of a fixed "
    "architecture for classification gives networks that are inaccurate or, if accurate, unstable, although "
    "accurate and stable networks exist for the same problems. This lab builds one family of such problems: "
    "x uniform in [0,1]^d, label floor(K·x1) mod 2 (K stripes), keeping only points at least δ = 0.1/K from "
    "every stripe edge, so every point has a certified clean margin δ. For each (K, d) it trains one fixed "
    "ReLU MLP (the same width and depth for every K and d) with Adam from several seeds, and beside it three "
    "networks whose width grows with K: a hand-built zigzag in x1 with 2(K−1) ReLUs that changes class only "
    "at the stripe edges (its distance to a class change is exactly the point's distance to the nearest edge, "
    "≥ δ), 1-nearest-neighbour written as a ReLU max-network over the training points (certified L2 radius "
    "(b−a)/2), and an MLP of width max(width, 4K) trained like the fixed one. Accuracy is measured on fresh "
    "test points. For each correctly classified test point (up to 200 per network) the lab measures the "
    "distance to the nearest change of class: an exact scan along ±e1 (the network is piecewise linear "
    "along a line, so walking its linear pieces finds the first change exactly), PGD with a bisection on "
    "the budget in L2 and Linf (every value is a checked adversarial point, so an upper bound), and a "
    "certified lower bound by interval bound propagation (IBP). ρ = median distance / δ: below 1, the "
    "network changes its answer closer to the data than the data's own margin. The dotted line is ρ of "
    "the true stripe classifier (the median distance of a test point to its nearest edge, about 3δ). "
    "A run counts as accurate at ≥ 95% held-out accuracy and as stable at ρ ≥ 1. ρ is measured on correctly "
    "classified points only: a network near chance is nearly constant, so its large ρ says little, and such "
    "a run counts as inaccurate whatever its ρ."
)

DEPARTURES = (
    "Where this departs from the paper: (1) the theorem is worst case over classification problems; "
    "this is one family (stripes), so it can illustrate the paradox, not prove or refute it. "
    "(2) The theorem concerns exact minimisers of the training cost; Adam finds approximate ones. "
    "(3) Attack distances (exact e1 scan, PGD with bisection) are upper bounds of the minimal "
    "adversarial distance, and interval bounds are loose lower bounds. "
    "(4) The paper's second result (no randomised algorithm computes the stable networks with "
    "probability above 1/2, from inexact input) cannot be simulated here; the seeds view only counts "
    "how often training ends accurate and stable. "
    "(5) The theorem's exact domain, margin, norms and radii were not read here [unverified]; its "
    "abstract says the stable networks need dimensions that vary (with the input); here the width "
    "grows with the number of stripes K."
)


def _int_list(values: list[int] | tuple[int, ...], name: str, low: int, high: int) -> tuple[int, ...]:
    out = tuple(int(v) for v in values)
    if not out:
        raise ConfigError(f"{name}: give at least one value")
    bad = [v for v in out if not low <= v <= high]
    if bad:
        raise ConfigError(f"{name} must be between {low} and {high}; got {bad[0]}")
    return tuple(sorted(set(out)))


def parse_int_list(text: str, name: str = "list") -> tuple[int, ...]:
    """'2,4,8' or '2:64' (powers of two from 2 to 64) -> a tuple of whole numbers."""
    text = text.strip()
    try:
        if ":" in text:
            first, last = (int(p) for p in text.split(":", 1))
            if first < 1 or last < first:
                raise ValueError
            values = [first]
            while values[-1] * 2 <= last:
                values.append(values[-1] * 2)
            return tuple(values)
        return tuple(int(p) for p in text.replace(" ", ",").split(",") if p)
    except ValueError as exc:
        raise ConfigError(f"{name}: expected whole numbers like 2,4,8 or a power-of-two range 2:64; got '{text}'") from exc


@dataclass(frozen=True)
class StabilityConfig:
    """Everything one run of the lab depends on; plain data, so a run can be repeated or sent elsewhere."""

    stripes: tuple[int, ...] = (2, 4, 8, 16, 32, 64)
    dims: tuple[int, ...] = (2, 32, 256)
    train_points: int = 2000
    test_points: int = 1000
    width: int = 16  # the fixed architecture: d -> width x depth -> 1, the same for every K and d
    depth: int = 2
    wide_per_stripe: int = 4  # widened MLP: width = max(width, wide_per_stripe * K)
    seeds: int = 3  # trainings of the fixed architecture per setting
    train_steps: int = 2000
    batch: int = 256
    learning_rate: float = 1e-2
    attack_points: int = 200  # correctly classified test points measured per network
    pgd_steps: int = 15
    searches: int = 8  # bisection steps on the PGD budget
    threads: int = 1  # torch threads while the lab runs (see `torch_threads`)
    norm: str = "l2"  # the headline rho: l2 or linf (both are always measured)
    accurate_at: float = 0.95  # a run is "accurate" at this test accuracy or more
    stable_at: float = 1.0  # and "stable" when rho >= this
    seed: int = 0
    log_every: int = 25

    def validated(self) -> StabilityConfig:
        if self.norm not in NORMS:
            raise ConfigError(f"norm must be one of {', '.join(NORMS)}; got '{self.norm}'")
        checks = [("train points", self.train_points, 4, 100_000), ("test points", self.test_points, 4, 100_000),
                  ("width", self.width, 1, 4096), ("depth", self.depth, 1, 8), ("seeds", self.seeds, 1, 100),
                  ("training steps", self.train_steps, 1, 1_000_000), ("batch", self.batch, 1, 100_000),
                  ("attack points", self.attack_points, 1, 100_000), ("PGD steps", self.pgd_steps, 1, 10_000),
                  ("searches", self.searches, 1, 60), ("widening factor", self.wide_per_stripe, 1, 1024),
                  ("threads", self.threads, 1, 256), ("log interval", self.log_every, 1, 1_000_000)]
        for name, value, low, high in checks:
            if not low <= int(value) <= high:
                raise ConfigError(f"{name} must be between {low} and {high}; got {value}")
        if not 0 < self.learning_rate < 10:
            raise ConfigError(f"learning rate must be in (0, 10); got {self.learning_rate}")
        if not 0 <= self.accurate_at <= 1 or self.stable_at < 0:
            raise ConfigError("accuracy threshold must be in [0, 1] and the stability threshold >= 0")
        return replace(self, stripes=_int_list(self.stripes, "stripes K", 2, 4096),
                       dims=_int_list(self.dims, "dimensions d", 1, 65_536))

    def settings(self) -> list[tuple[int, int]]:
        """(K, d) pairs, d outer: the K sweep at the first d fills in first."""
        return [(k, d) for d in self.dims for k in self.stripes]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainingCurve:
    """The live view of one training job: loss and accuracies of each member every `log_every` steps."""

    label: str
    members: list[str]
    steps: list[int] = field(default_factory=list)
    loss: list[list[float]] = field(default_factory=list)  # [member][log point]
    train_accuracy: list[list[float]] = field(default_factory=list)
    test_accuracy: list[list[float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for series in (self.loss, self.train_accuracy, self.test_accuracy):
            while len(series) < len(self.members):
                series.append([])

    def copy(self) -> TrainingCurve:
        return TrainingCurve(self.label, list(self.members), list(self.steps), [list(v) for v in self.loss],
                             [list(v) for v in self.train_accuracy], [list(v) for v in self.test_accuracy])

    def member(self, i: int) -> TrainingCurve:
        return TrainingCurve(self.members[i], [self.members[i]], list(self.steps), [list(self.loss[i])],
                             [list(self.train_accuracy[i])], [list(self.test_accuracy[i])])


def _median(values: np.ndarray) -> float:
    """Median over the points, NaN left out; inf (no class change found) counts as the largest value."""
    known = values[~np.isnan(values)]
    return float(np.median(known)) if len(known) else math.nan


@dataclass
class NetResult:
    """One network on one setting: its size, accuracy and distance statistics (rho = distance / delta)."""

    kind: str
    hidden: list[int]
    parameters: int
    seed: int | None
    train_accuracy: float
    test_accuracy: float
    points: int  # correctly classified test points measured
    median_scan: float  # exact distance to a class change along +-e1
    median_l2: float  # upper bound (scan or PGD)
    median_linf: float  # upper bound (scan or PGD)
    median_certified: float  # IBP lower bound (Linf box; certifies L2 too)
    median_proven: float  # by construction; NaN for trained networks
    share_below_margin: float  # share of measured points with an L2/Linf (headline norm) distance < delta
    rho_l2: float
    rho_linf: float
    rho_certified: float
    rho_proven: float
    rho: float  # the headline: rho in the configured norm
    accurate: bool
    stable: bool
    seconds: float
    curve: TrainingCurve | None = None
    indicators: dict[str, int] = field(default_factory=dict)  # measured points that triggered each indicator

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["title"] = self.title
        return out


@dataclass
class SettingRow:
    """One (K, d): the fixed architecture over seeds beside the three networks that grow with K."""

    stripes: int
    dim: int
    margin: float
    train_points: int
    test_points: int
    fixed_runs: list[NetResult]
    zigzag: NetResult
    nearest: NetResult
    wide: NetResult
    ground_truth_rho: float  # rho of the true stripe classifier: median distance of a test point to its edge / delta
    networks: dict = field(default_factory=dict, repr=False, compare=False)  # kind -> [measured nets], not saved

    @property
    def fixed_accuracy(self) -> float:
        return float(np.mean([r.test_accuracy for r in self.fixed_runs]))

    @property
    def fixed_rho(self) -> float:
        return _median(np.array([r.rho for r in self.fixed_runs]))

    @property
    def fixed_rho_certified(self) -> float:
        return _median(np.array([r.rho_certified for r in self.fixed_runs]))

    @property
    def good_runs(self) -> int:
        return sum(r.accurate and r.stable for r in self.fixed_runs)

    @property
    def good_fraction(self) -> float:
        return self.good_runs / len(self.fixed_runs)

    def net(self, kind: str) -> NetResult:
        return {"zigzag": self.zigzag, "nearest": self.nearest, "wide": self.wide}[kind]

    def accuracy(self, kind: str) -> float:
        return self.fixed_accuracy if kind == "fixed" else self.net(kind).test_accuracy

    def rho(self, kind: str) -> float:
        return self.fixed_rho if kind == "fixed" else self.net(kind).rho

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("stripes", "dim", "margin", "train_points", "test_points",
                                             "ground_truth_rho")}
        out |= {"fixed_accuracy": self.fixed_accuracy, "fixed_rho": self.fixed_rho,
                "fixed_rho_certified": self.fixed_rho_certified, "good_runs": self.good_runs,
                "good_fraction": self.good_fraction,
                "fixed_runs": [r.to_dict() for r in self.fixed_runs],
                "zigzag": self.zigzag.to_dict(), "nearest": self.nearest.to_dict(), "wide": self.wide.to_dict()}
        return out


@dataclass
class StabilitySnapshot:
    """What the GUI polls while the lab runs: finished rows, the training under way, a stage line."""

    rows: list[SettingRow]
    curve: TrainingCurve | None
    stage: str


@dataclass
class StabilityResult:
    config: StabilityConfig
    rows: list[SettingRow]
    seconds: float
    summary: str = ""
    departures: str = DEPARTURES

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "rows": [r.to_dict() for r in self.rows], "seconds": self.seconds,
                "summary": self.summary, "about": ABOUT, "departures": self.departures}


def _pct(value: float) -> str:
    return f"{value:.0%}"


def _rho_text(value: float) -> str:
    return "∞" if value == math.inf else ("—" if value != value else f"{value:.2g}")


def verdict(rows: list[SettingRow]) -> str:
    """'agrees', 'disagrees' or 'inconclusive': does the largest K show the paradox for every d?"""
    if not rows:
        return "inconclusive"
    top_k = max(r.stripes for r in rows)
    top = [r for r in rows if r.stripes == top_k]
    stable_built = all(r.zigzag.accurate and r.zigzag.stable for r in rows)
    fixed_fails = all(r.good_runs == 0 for r in top)
    if fixed_fails and stable_built:
        return "agrees"
    if not fixed_fails:
        return "disagrees"
    return "inconclusive"


def summarise(result: StabilityResult) -> str:
    """A few sentences: what the run shows and whether it agrees with the paper."""
    rows = result.rows
    if not rows:
        return "No setting finished."
    cfg = result.config
    arch = "→".join(["d", *[str(cfg.width)] * cfg.depth, "1"])
    first_d = rows[0].dim
    sweep = sorted((r for r in rows if r.dim == first_d), key=lambda r: r.stripes)
    lo, hi = sweep[0], sweep[-1]
    norm = "L2" if cfg.norm == "l2" else "Linf"
    good = sum(r.good_runs for r in rows)
    runs = sum(len(r.fixed_runs) for r in rows)
    top_k = max(r.stripes for r in rows)
    top_runs = [run for r in rows if r.stripes == top_k for run in r.fixed_runs]
    inaccurate = sum(not run.accurate for run in top_runs)
    unstable = sum(run.accurate and not run.stable for run in top_runs)
    accurate_rho = [run.rho for r in rows for run in r.fixed_runs if run.accurate]
    below = sum(v < cfg.stable_at for v in accurate_rho)
    rho_text = (f"its accurate runs had ρ ({norm}) {_rho_text(min(accurate_rho))}–{_rho_text(max(accurate_rho))} "
                f"({below} below {cfg.stable_at:g})" if accurate_rho else "no run was accurate")
    parts = [f"Fixed {arch} MLP, d={first_d}: held-out accuracy {_pct(lo.fixed_accuracy)} at K={lo.stripes} → "
             f"{_pct(hi.fixed_accuracy)} at K={hi.stripes}. {good} of {runs} trainings ended accurate and stable; "
             f"{rho_text}; at K={top_k}: {inaccurate} inaccurate, {unstable} accurate but unstable."]
    zig_ok = all(r.zigzag.accurate and r.zigzag.stable for r in rows)
    wide_ok = sum(r.wide.accurate and r.wide.stable for r in rows)
    zig_text = (f"accurate, ρ ≥ {_rho_text(min(r.zigzag.rho for r in rows))} everywhere" if zig_ok
                else "NOT accurate and stable everywhere (check the construction)")
    parts.append(f"Zigzag (2(K−1) ReLUs): {zig_text}; widened MLP (Adam): accurate and stable at {wide_ok} of "
                 f"{len(rows)} settings.")
    v = verdict(rows)
    if v == "agrees":
        parts.append(f"Agrees with the paper on this family: at K={top_k} no fixed-architecture training was "
                     "accurate and stable, while a ReLU network whose width grows with K is.")
    elif v == "disagrees":
        parts.append(f"Does not show the paradox here: the fixed architecture still ended accurate and stable at "
                     f"K={top_k} in some runs; try a larger K or a smaller width.")
    else:
        parts.append("Inconclusive: the stable construction did not hold everywhere.")
    return " ".join(parts)


def table_rows(result_rows: list[SettingRow], norm: str = "l2") -> tuple[list[str], list[list[str]]]:
    """Headers and text cells for the table (CLI and GUI show the same); ρ in `norm` unless labelled."""
    other = "linf" if norm == "l2" else "l2"
    names = {"l2": "L2", "linf": "Linf"}
    headers = ["K", "d", "δ", "fixed acc", f"fixed ρ {names[norm]}", f"fixed ρ {names[other]}", "fixed ρ IBP",
               "acc&stable runs", "zigzag acc", "zigzag ρ", "1-NN acc", "1-NN ρ", "1-NN ρ proven", "wide",
               "wide acc", "wide ρ"]
    cells = []
    for r in result_rows:
        other_rho = _median(np.array([getattr(run, f"rho_{other}") for run in r.fixed_runs]))
        cells.append([str(r.stripes), str(r.dim), f"{r.margin:.4f}", _pct(r.fixed_accuracy), _rho_text(r.fixed_rho),
                      _rho_text(other_rho), _rho_text(r.fixed_rho_certified), f"{r.good_runs}/{len(r.fixed_runs)}",
                      _pct(r.zigzag.test_accuracy), _rho_text(r.zigzag.rho), _pct(r.nearest.test_accuracy),
                      _rho_text(r.nearest.rho), _rho_text(r.nearest.rho_proven), str(r.wide.hidden[0]),
                      _pct(r.wide.test_accuracy), _rho_text(r.wide.rho)])
    return headers, cells


def config_from_options(options: dict) -> StabilityConfig:
    """The Stability panel's plain options as a validated config (ConfigError on bad input); the GUI
    checks them with it before asking the engine, and the engine builds the run's config with it."""
    return StabilityConfig(
        stripes=parse_int_list(str(options["stripes"]), "stripes K"),
        dims=parse_int_list(str(options["dims"]), "dimensions d"),
        train_points=int(options["train_points"]), test_points=int(options["test_points"]),
        width=int(options["width"]), depth=int(options["depth"]), seeds=int(options["seeds"]),
        train_steps=int(options["train_steps"]), learning_rate=float(options["learning_rate"]),
        norm=str(options["norm"]),
    ).validated()

