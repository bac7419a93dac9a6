"""What the Stability lab found: one `NetResult` per network, one `SettingRow` per (K, d, n), the three
classes every run falls in (accurate & stable, accurate & unstable, inaccurate) and the live training curve.

Plain data (numpy only, no torch): the lab runs in the engine process and its snapshots and results cross
to the GUI process pickled."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .stability_config import StabilityConfig

ACCURATE_STABLE, ACCURATE_UNSTABLE, INACCURATE = "accurate & stable", "accurate & unstable", "inaccurate"
CATEGORIES = (ACCURATE_STABLE, ACCURATE_UNSTABLE, INACCURATE)
KINDS = ("fixed", "zigzag", "nearest", "wide")
KIND_TITLES = {
    "fixed": "fixed MLP",
    "zigzag": "zigzag (2(K-1) units)",
    "nearest": "1-NN as ReLU max-net",
    "wide": "widened MLP",
}


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


def median_of(values: np.ndarray) -> float:
    """Median over the points, NaN left out; inf (no class change found) counts as the largest value."""
    known = values[~np.isnan(values)]
    return float(np.median(known)) if len(known) else math.nan


def classify(test_accuracy: float, share_below: float, share_below_train: float, config: StabilityConfig) -> str:
    """Inaccurate below `accurate_at` held-out accuracy; otherwise unstable when more than `unstable_share`
    of the measured held-out or training points have a checked adversarial closer than the margin delta.
    (Distances are upper bounds, so a point below delta is a verified instability, not an estimate.)"""
    if not test_accuracy >= config.accurate_at:
        return INACCURATE
    shares = [s for s in (share_below, share_below_train) if not math.isnan(s)]
    return ACCURATE_UNSTABLE if shares and max(shares) > config.unstable_share else ACCURATE_STABLE


@dataclass
class NetResult:
    """One network on one setting: its size, accuracy, distances (rho = distance / delta) and class."""

    kind: str
    hidden: list[int]
    parameters: int
    seed: int | None
    train_accuracy: float
    test_accuracy: float
    points: int  # correctly classified held-out points measured
    median_scan: float  # exact distance to a class change along +-e1
    median_l2: float  # upper bound (scan or PGD)
    median_linf: float  # upper bound (scan or PGD)
    median_certified: float  # IBP lower bound (Linf box; certifies L2 too)
    median_proven: float  # by construction; NaN for trained networks
    share_below_margin: float  # held-out points with a (headline norm) adversarial closer than delta
    rho_l2: float
    rho_linf: float
    rho_certified: float
    rho_proven: float
    rho: float  # the headline: rho in the configured norm
    category: str = ACCURATE_STABLE
    train_points_measured: int = 0
    share_below_margin_train: float = math.nan  # the same share among correctly classified training points
    min_distance: float = math.nan  # smallest headline distance found, held-out points
    min_distance_train: float = math.nan
    min_certified: float = math.nan  # smallest IBP-certified radius over the measured points
    steps: int = 0  # Adam steps taken (trained networks; past the base steps while the loss still fell)
    seconds: float = 0.0
    curve: TrainingCurve | None = None
    indicators: dict[str, int] = field(default_factory=dict)  # measured points that triggered each indicator

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    @property
    def accurate(self) -> bool:
        return self.category != INACCURATE

    @property
    def stable(self) -> bool:
        return self.category == ACCURATE_STABLE

    def to_dict(self) -> dict:
        out = asdict(self)
        out |= {"title": self.title, "accurate": self.accurate, "stable": self.stable}
        return out


@dataclass
class SettingRow:
    """One (K, d, n): the fixed architecture over seeds beside the three networks that grow with K and n."""

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
        return median_of(np.array([r.rho for r in self.fixed_runs]))

    @property
    def fixed_rho_certified(self) -> float:
        return median_of(np.array([r.rho_certified for r in self.fixed_runs]))

    @property
    def fixed_share_below(self) -> float:
        """Median over seeds of the larger of the held-out and training shares within delta."""
        shares = [[v for v in (r.share_below_margin, r.share_below_margin_train) if not math.isnan(v)]
                  for r in self.fixed_runs]
        return median_of(np.array([max(s) if s else math.nan for s in shares]))

    def counts(self) -> dict[str, int]:
        """How many fixed-architecture runs fell in each class."""
        return {c: sum(r.category == c for r in self.fixed_runs) for c in CATEGORIES}

    @property
    def good_runs(self) -> int:
        return self.counts()[ACCURATE_STABLE]

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
                "good_fraction": self.good_fraction, "fixed_counts": self.counts(),
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
    verdict: str = ""  # agrees-unstable | agrees-inaccurate | disagrees | inconclusive
    headline: str = ""  # the verdict in one sentence
    summary: str = ""  # the headline first, then what the run shows
    about: str = ""
    departures: str = ""

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "rows": [r.to_dict() for r in self.rows], "seconds": self.seconds,
                "verdict": self.verdict, "headline": self.headline, "summary": self.summary, "about": self.about, "departures": self.departures}
