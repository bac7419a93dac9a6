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

import concurrent.futures as cf
import copy
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..diagnostics.probes import stability_indicators
from ..errors import Cancelled
from ..executor import POLL_S, Executor, JobGroup, SweepJob
from ..jobs import Progress
from .stability_nets import (
    NearestNeighbourNet,
    ReluNet,
    ZigzagNet,
    measure_distances,
    predict,
)
from .stability_results import (  # noqa: F401 - re-exported: the lab's public names stay importable from here
    ABOUT,
    DEPARTURES,
    KIND_TITLES,
    KINDS,
    NORMS,
    NetResult,
    SettingRow,
    StabilityConfig,
    StabilityResult,
    StabilitySnapshot,
    TrainingCurve,
    _median,
    parse_int_list,
    summarise,
    table_rows,
    verdict,
)

MARGIN_FRACTION = 0.1  # delta = MARGIN_FRACTION / K


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
class _StopCheck:
    """A job's stop flag in the shape `run_setting` asks it (`check()` between steps)."""

    def __init__(self, should_stop):
        self.should_stop = should_stop

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled("cancelled")


def setting_job(job, model, x, y, config, should_stop, report=None) -> dict:
    """The executor's 'stability-setting' job: one (K, d) trained and measured wherever the job lands.

    Where the backend can carry it (the local pool), `report` publishes the live training curve and
    stage inside the setting, in the units of `setting_units`."""
    setting: SettingJob = job.params["setting"]
    total = setting_units(setting.config)
    stage = {"text": "starting"}

    def on_curve(curve: TrainingCurve, units: int) -> None:
        report(units, total, (curve, stage["text"]))

    def on_stage(text: str, units: int) -> None:
        stage["text"] = text
        report(units, total, (None, text))

    with torch_threads(setting.config.threads):
        row = run_setting(setting, _StopCheck(should_stop), on_curve if report else None,
                          on_stage if report else None)
    return {"success": np.zeros(0, dtype=bool), "row": row}


def _setting_sweep_job(setting: SettingJob) -> SweepJob:
    empty = np.zeros((0, 1, 1, 1), dtype=np.float32)
    return SweepJob("", {}, empty, np.zeros(0, dtype=np.int64), method="stability-setting",
                    keep_adversarial=False, params={"setting": setting},
                    tag=f"K={setting.stripes} d={setting.dim}")


def run_stability_lab(config: StabilityConfig, progress: Progress | None = None,
                      executor: Executor | None = None) -> StabilityResult:
    """Every (K, d), one executor job each (default: the local pool, one setting at a time); rows are
    taken in order and partial results (a `StabilitySnapshot`) go through `progress.report`, with the
    live training curve of the setting being waited for where the backend carries it."""
    config = config.validated()
    started = time.perf_counter()
    settings = config.settings()
    per_setting = setting_units(config)
    total = per_setting * len(settings)
    rows: list[SettingRow] = []
    state: dict = {"curve": None, "stage": "starting"}
    stop = (lambda: progress.cancelled) if progress is not None else None

    def report(done: int) -> None:
        # every log_every training steps: the mailbox keeps only the newest snapshot, and a time-based
        # throttle here would make what a reader sees depend on the machine's speed
        if progress is None:
            return
        curve = state["curve"].copy() if state["curve"] is not None else None
        progress.report(min(done, total), total, StabilitySnapshot(list(rows), curve, state["stage"]))

    with JobGroup(executor, stop) as jobs:
        futures = [jobs.submit(_setting_sweep_job(SettingJob(k, d, config))) for k, d in settings]
        for i, future in enumerate(futures):
            base, seen = i * per_setting, 0
            control = getattr(future, "control", None)
            while not future.done():
                if stop is not None and stop():
                    raise Cancelled("cancelled")
                cf.wait([future], timeout=POLL_S)
                version, done, _total, partial = control.snapshot() if control is not None else (0, 0, 0, None)
                if version != seen and partial is not None:
                    seen = version
                    curve, state["stage"] = partial
                    state["curve"] = curve if curve is not None else state["curve"]
                    report(base + done)
            rows.append(jobs.result(future).values["row"])
            report((i + 1) * per_setting)
    result = StabilityResult(config, rows, time.perf_counter() - started)
    result.summary = summarise(result)
    return result
