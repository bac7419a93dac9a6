"""Stability lab: the fixed-architecture paradox of Bastounis, Hansen and Vlačić (arXiv 2109.06098).

The claim [read, abstract]: training ReLU networks of a FIXED architecture on classification problems
yields networks that are inaccurate or, if accurate, unstable, although accurate and stable networks
exist for the same problems; those need dimensions that vary with the problem.

The experiment (see SCIENCE.md, "Stability lab"): K stripes in [0,1]^d, label floor(K x1) mod 2, and
only points at least delta = 0.1/K from every stripe edge, so every point has a certified clean margin
delta. For each (K, d): one ReLU MLP of a fixed architecture trained with Adam over several seeds, and
three networks whose width grows with K: a hand-built zigzag (stable by construction), 1-nearest-
neighbour as a ReLU max-network (certified radius (b-a)/2), and an MLP widened with K, trained like the
fixed one. On each: accuracy on fresh test points and, per correctly classified test point, the
distance to the nearest class change (upper bounds from an exact e1 scan and PGD, a certified lower
bound from interval bounds); rho = median distance / delta. The ground-truth classifier has
rho of about 3 (the median distance of a point to its nearest edge), so rho < 1 means the network
decides closer to the data than the data's own margin.

Each setting is a plain job (`SettingJob`) with its own torch.Generator seeds; the lab runs them in
order and reports partial results (rows so far and the live training curve) through `Progress`.
"""

from __future__ import annotations

import copy
import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch import nn

from ..diagnostics.probes import stability_indicators
from ..errors import ConfigError
from ..tasks import Progress
from .stability_nets import (
    NearestNeighbourNet,
    ReluNet,
    ZigzagNet,
    measure_distances,
    predict,
)

MARGIN_FRACTION = 0.1  # delta = MARGIN_FRACTION / K
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


# ---------------------------------------------------------------------------------------------- data
@dataclass
class StripeData:
    """Points in [0,1]^d with labels floor(K x1) mod 2, each at least `margin` from every stripe edge."""

    x: torch.Tensor  # (N, d) float32
    y: torch.Tensor  # (N,) long
    stripes: int
    margin: float  # delta: distance of every point to the nearest stripe edge is >= margin

    @property
    def separation(self) -> float:
        """Any two points of different classes are at least this far apart, in every Lp norm."""
        return 2 * self.margin


def stripe_margin(stripes: int) -> float:
    return MARGIN_FRACTION / stripes


def edge_distance(x1: torch.Tensor, stripes: int) -> torch.Tensor:
    """Distance of x1 to the nearest interior stripe edge j/K, j = 1..K-1 (the only class boundaries)."""
    scaled = x1 * stripes
    nearest = scaled.round().clamp(1, stripes - 1)
    return (scaled - nearest).abs() / stripes


def stripe_labels(x: torch.Tensor, stripes: int) -> torch.Tensor:
    return (torch.floor(x[:, 0] * stripes).long().clamp(0, stripes - 1)) % 2


def make_stripes(stripes: int, dim: int, count: int, generator: torch.Generator) -> StripeData:
    """Uniform points in [0,1]^d, keeping only those at least delta = 0.1/K from every edge."""
    delta = stripe_margin(stripes)
    kept: list[torch.Tensor] = []
    have = 0
    while have < count:
        draw = torch.rand((max(64, int((count - have) * 1.3)), dim), generator=generator)
        keep = draw[edge_distance(draw[:, 0].double(), stripes) >= delta]
        kept.append(keep)
        have += len(keep)
    x = torch.cat(kept)[:count]
    return StripeData(x, stripe_labels(x, stripes), stripes, delta)


def data_seed(seed: int, stripes: int, dim: int, part: int) -> int:
    """Separate, reproducible streams for each setting's training (part 0) and test (part 1) points."""
    return (seed * 1_000_003 + stripes * 10_007 + dim * 101 + part) % (2**63 - 1)


def setting_data(config: StabilityConfig, stripes: int, dim: int) -> tuple[StripeData, StripeData]:
    """The training points and the held-out test points of one (K, d): independent draws."""
    train = make_stripes(stripes, dim, config.train_points, torch.Generator().manual_seed(data_seed(config.seed, stripes, dim, 0)))
    test = make_stripes(stripes, dim, config.test_points, torch.Generator().manual_seed(data_seed(config.seed, stripes, dim, 1)))
    return train, test


# ---------------------------------------------------------------------------------------------- training
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


def _stacked_forward(weights: list[torch.Tensor], biases: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        x = torch.baddbmm(b, x, w)
        if i < len(weights) - 1:
            x = torch.relu(x)
    return x.squeeze(-1)


def train_mlps(nets: list[ReluNet], generators: list[torch.Generator], train: StripeData, test: StripeData,
               steps: int, batch: int, learning_rate: float, curve: TrainingCurve, log_every: int = 25,
               on_log=None) -> None:
    """Adam on the logistic loss for several same-shaped nets at once, each with its own initialisation
    and its own mini-batches (drawn from its own generator). Adam is elementwise and the nets share no
    parameter, so this is the same as training them one after the other, only with less overhead."""
    weights = [torch.stack([n.layers[i].weight.detach().T for n in nets]).requires_grad_()
               for i in range(len(nets[0].layers))]
    biases = [torch.stack([n.layers[i].bias.detach()[None, :] for n in nets]).requires_grad_()
              for i in range(len(nets[0].layers))]
    optimiser = torch.optim.Adam([*weights, *biases], lr=learning_rate)
    count, members = len(train.x), len(nets)
    size = min(batch, count)
    target = train.y.float()
    x_train = train.x[None].expand(members, -1, -1)
    x_test = test.x[None].expand(members, -1, -1)
    running = torch.zeros(members)
    seen = 0
    for step in range(1, steps + 1):
        idx = torch.stack([torch.randint(count, (size,), generator=g) for g in generators])
        logits = _stacked_forward(weights, biases, train.x[idx])
        losses = nn.functional.binary_cross_entropy_with_logits(logits, target[idx], reduction="none").mean(1)
        optimiser.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimiser.step()
        running += losses.detach()
        seen += 1
        if step % log_every == 0 or step == steps:
            with torch.no_grad():
                train_acc = ((_stacked_forward(weights, biases, x_train) > 0).long() == train.y).float().mean(1)
                test_acc = ((_stacked_forward(weights, biases, x_test) > 0).long() == test.y).float().mean(1)
            curve.steps.append(step)
            for m in range(members):
                curve.loss[m].append(float(running[m]) / seen)
                curve.train_accuracy[m].append(float(train_acc[m]))
                curve.test_accuracy[m].append(float(test_acc[m]))
            running.zero_()
            seen = 0
            if on_log is not None:
                on_log(step)
    with torch.no_grad():
        for m, net in enumerate(nets):
            for i, layer in enumerate(net.layers):
                layer.weight.copy_(weights[i][m].T)
                layer.bias.copy_(biases[i][m, 0])


@contextmanager
def torch_threads(count: int):
    """Tiny networks run fastest on one thread: on this 2-core machine an Adam step of the 16-16 MLP took
    3.5 ms on one thread and 82 ms on two under load (the threads wait for each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------- results
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


# ---------------------------------------------------------------------------------------------- one setting
@dataclass(frozen=True)
class SettingJob:
    """One (K, d) as plain data: everything `run_setting` needs (an executor can ship it anywhere)."""

    stripes: int
    dim: int
    config: StabilityConfig


def _measure(kind: str, net, train: StripeData, test: StripeData, config: StabilityConfig, seed: int | None,
             generator: torch.Generator, seconds: float, curve: TrainingCurve | None,
             progress: Progress | None) -> NetResult:
    """Accuracy on held-out points, then distances on the first `attack_points` correctly classified ones."""
    started = time.perf_counter()
    x_test = test.x.double()
    correct = predict(net, x_test) == test.y
    train_acc = float((predict(net, train.x.double()) == train.y).float().mean())
    test_acc = float(correct.float().mean())
    points = x_test[correct][: config.attack_points]
    dist = measure_distances(net, points, generator, config.pgd_steps, config.searches, config.norm, progress)
    delta = test.margin
    headline = dist.l2 if config.norm == "l2" else dist.linf
    med = {name: _median(getattr(dist, name)) for name in ("scan", "l2", "linf", "certified", "proven")}
    rho = {name: med[name] / delta for name in med}
    share_below = float(np.mean(headline < delta)) if len(headline) else math.nan
    return NetResult(
        kind=kind, hidden=list(net.hidden), parameters=int(net.parameter_count), seed=seed,
        train_accuracy=train_acc, test_accuracy=test_acc, points=len(points),
        median_scan=med["scan"], median_l2=med["l2"], median_linf=med["linf"], median_certified=med["certified"],
        median_proven=med["proven"], share_below_margin=share_below,
        rho_l2=rho["l2"], rho_linf=rho["linf"], rho_certified=rho["certified"], rho_proven=rho["proven"],
        rho=rho[config.norm], accurate=test_acc >= config.accurate_at,
        stable=bool(rho[config.norm] >= config.stable_at), seconds=seconds + time.perf_counter() - started,
        curve=curve, indicators=stability_indicators(net, points, dist.l2, dist.linf))


def run_setting(job: SettingJob, progress: Progress | None = None, on_curve=None, on_stage=None) -> SettingRow:
    """Train and measure every network of one (K, d). `on_curve(curve, units_done)` is called as training
    logs; `on_stage(text, units_done)` as each piece starts or ends (units as in `setting_units`)."""
    cfg, k, d = job.config, job.stripes, job.dim
    train, test = setting_data(cfg, k, d)
    networks: dict[str, list] = {}
    measure_gen = torch.Generator().manual_seed(data_seed(cfg.seed, k, d, 2))
    units = 0

    def stage(text: str, add: int) -> None:
        nonlocal units
        units += add
        if on_stage is not None:
            on_stage(text, units)

    def trained(kind: str, hidden: list[int], seeds: list[int]) -> list[NetResult]:
        shape = "-".join(map(str, hidden))
        label = f"{'fixed' if kind == 'fixed' else 'widened'} {shape}, K={k}, d={d}"
        generators = [torch.Generator().manual_seed(s) for s in seeds]
        nets = [ReluNet(d, hidden, g) for g in generators]
        curve = TrainingCurve(label, [f"seed {s}" if kind == "fixed" else "widened" for s in seeds])
        stage(f"training {label}", 0)
        started = time.perf_counter()
        base = units

        def logged(step: int) -> None:
            if progress is not None:
                progress.check()
            if on_curve is not None:
                on_curve(curve, base + step)

        train_mlps(nets, generators, train, test, cfg.train_steps, cfg.batch, cfg.learning_rate, curve,
                   cfg.log_every, logged)
        seconds = (time.perf_counter() - started) / len(nets)
        stage(f"measuring {label}", cfg.train_steps)
        results = []
        for i, (net, seed) in enumerate(zip(nets, seeds, strict=True)):
            analysed = copy.deepcopy(net).double().eval()
            networks.setdefault(kind, []).append(analysed)
            results.append(_measure(kind, analysed, train, test, cfg, seed, measure_gen, seconds, curve.member(i),
                                    progress))
            stage(f"measured {label}, seed {seed}", MEASURE_UNITS)
        return results

    fixed = trained("fixed", [cfg.width] * cfg.depth, [cfg.seed * 1000 + s for s in range(cfg.seeds)])
    wide_width = max(cfg.width, cfg.wide_per_stripe * k)
    (wide,) = trained("wide", [wide_width] * cfg.depth, [cfg.seed * 1000 + 999])

    stage(f"measuring the zigzag, K={k}, d={d}", 0)
    zig = ZigzagNet(d, k, train.margin).double().eval()
    zigzag = _measure("zigzag", zig, train, test, cfg, None, measure_gen, 0.0, None, progress)
    stage(f"measuring 1-NN, K={k}, d={d}", MEASURE_UNITS)
    nn_net = NearestNeighbourNet(train.x.double(), train.y)
    nearest = _measure("nearest", nn_net, train, test, cfg, None, measure_gen, 0.0, None, progress)
    stage(f"done K={k}, d={d}", MEASURE_UNITS)
    networks |= {"zigzag": [zig], "nearest": [nn_net]}
    truth = float(np.median(edge_distance(test.x[:, 0].double(), k).numpy())) / train.margin
    return SettingRow(k, d, train.margin, len(train.x), len(test.x), fixed, zigzag, nearest, wide, truth, networks)


MEASURE_UNITS = 150  # progress units one network's measurement counts for (about the time of 150 training steps)


def setting_units(config: StabilityConfig) -> int:
    return 2 * config.train_steps + (config.seeds + 3) * MEASURE_UNITS


# ---------------------------------------------------------------------------------------------- the lab
def run_stability_lab(config: StabilityConfig, progress: Progress | None = None) -> StabilityResult:
    """Every (K, d) in order; partial results (a `StabilitySnapshot`) go through `progress.report`."""
    config = config.validated()
    started = time.perf_counter()
    settings = config.settings()
    per_setting = setting_units(config)
    total = per_setting * len(settings)
    rows: list[SettingRow] = []
    state: dict = {"curve": None, "stage": "starting"}

    def report(done: int) -> None:
        # every log_every training steps: the mailbox keeps only the newest snapshot, and a time-based
        # throttle here would make what a reader sees depend on the machine's speed
        if progress is None:
            return
        curve = state["curve"].copy() if state["curve"] is not None else None
        progress.report(min(done, total), total, StabilitySnapshot(list(rows), curve, state["stage"]))

    for i, (k, d) in enumerate(settings):
        if progress is not None:
            progress.check()
        base = i * per_setting

        def on_curve(curve: TrainingCurve, units: int, base: int = base) -> None:
            state["curve"] = curve
            report(base + units)

        def on_stage(text: str, units: int, base: int = base) -> None:
            state["stage"] = text
            report(base + units)

        with torch_threads(config.threads):
            rows.append(run_setting(SettingJob(k, d, config), progress, on_curve, on_stage))
        report((i + 1) * per_setting)
    result = StabilityResult(config, rows, time.perf_counter() - started)
    result.summary = summarise(result)
    return result


# ---------------------------------------------------------------------------------------------- words
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
