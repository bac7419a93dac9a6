"""Stability lab: the fixed-architecture paradox of Bastounis, Hansen and Vlačić (arXiv 2109.06098).

The claim [read, abstract]: training ReLU networks of a FIXED architecture on classification problems
yields networks that are inaccurate or, if accurate, unstable, although accurate and stable networks
exist for the same problems; those need dimensions that vary with the problem.

The experiment (SCIENCE.md, "Stability lab"): K stripes in [0,1]^d with a certified margin delta = 0.1/K,
swept over K (the inaccurate branch) or over the training-set size n at a K the fixed net learns (the
accurate-but-unstable branch). For each (K, d, n): one ReLU MLP of a fixed architecture trained with Adam
over several seeds, and three networks that grow with the problem (a hand-built zigzag, 1-NN as a ReLU
max-network, an MLP widened with K and n). Each run is classed accurate & stable, accurate & unstable or
inaccurate from its held-out accuracy and the share of its points with an adversarial closer than delta;
the verdict says which branch the hardest setting shows, and can disagree.

Each setting is a plain job (`SettingJob`) with its own torch.Generator seeds; the lab runs them in
order and reports partial results (rows so far and the live training curve) through `Progress`. The
config, data, nets, training, measurements, results and words live in their own `stability_*` modules.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..jobs import Progress
from .stability_config import MARGIN_FRACTION, NORMS, StabilityConfig, parse_int_list
from .stability_data import StripeData, data_seed, edge_distance, make_stripes, setting_data, stripe_margin
from .stability_measure import measure_network
from .stability_nets import NearestNeighbourNet, ReluNet, ZigzagNet
from .stability_results import (
    CATEGORIES,
    KIND_TITLES,
    KINDS,
    NetResult,
    SettingRow,
    StabilityResult,
    StabilitySnapshot,
    TrainingCurve,
)
from .stability_text import ABOUT, DEPARTURES, summarise, table_rows, verdict, verdict_sentence
from .stability_training import Plateau, torch_threads, train_mlps

__all__ = ["ABOUT", "CATEGORIES", "DEPARTURES", "KINDS", "KIND_TITLES", "MARGIN_FRACTION", "NORMS", "NetResult",
           "SettingJob", "SettingRow", "StabilityConfig", "StabilityResult", "StabilitySnapshot", "StripeData",
           "edge_distance", "make_stripes", "parse_int_list", "run_setting", "run_stability_lab", "setting_data",
           "stripe_margin", "summarise", "table_rows", "verdict", "wide_width"]

MEASURE_UNITS = 150  # progress units one network's measurement counts for (about the time of 150 training steps)


@dataclass(frozen=True)
class SettingJob:
    """One (K, d, n) as plain data: everything `run_setting` needs (an executor can ship it anywhere)."""

    stripes: int
    dim: int
    config: StabilityConfig
    train_points: int | None = None  # None: config.train_points


def wide_width(config: StabilityConfig, stripes: int, train_points: int) -> int:
    """The widened MLP's width: it grows with K and with the number of points (training and held-out), so
    that with depth 2 the product of its widths keeps pace with the points it must separate."""
    by_points = math.ceil(config.wide_per_point * math.sqrt(train_points + config.test_points))
    return max(config.width, config.wide_per_stripe * stripes, by_points)


class _Setting:
    """The networks of one setting, trained and measured in turn, reporting stages and curves."""

    def __init__(self, job: SettingJob, progress: Progress | None, on_curve, on_stage):
        cfg = job.config
        self.cfg, self.k, self.d = cfg, job.stripes, job.dim
        self.train, self.test = setting_data(cfg, self.k, self.d, job.train_points)
        self.n = len(self.train.x)
        self.progress, self.on_curve, self.on_stage = progress, on_curve, on_stage
        self.generator = torch.Generator().manual_seed(data_seed(cfg.seed, self.k, self.d, 2))
        self.networks: dict[str, list] = {}
        self.units = 0

    @property
    def where(self) -> str:
        return f"K={self.k}, d={self.d}, n={self.n}"

    def stage(self, text: str, add: int) -> None:
        self.units += add
        if self.on_stage is not None:
            self.on_stage(text, self.units)

    def trained(self, kind: str, hidden: list[int], seeds: list[int]) -> list[NetResult]:
        cfg = self.cfg
        label = f"{'fixed' if kind == 'fixed' else 'widened'} {'-'.join(map(str, hidden))}, {self.where}"
        generators = [torch.Generator().manual_seed(s) for s in seeds]
        nets = [ReluNet(self.d, hidden, g) for g in generators]
        curve = TrainingCurve(label, [f"seed {s}" if kind == "fixed" else "widened" for s in seeds])
        self.stage(f"training {label}", 0)
        started, base = time.perf_counter(), self.units

        def logged(step: int) -> None:
            if self.progress is not None:
                self.progress.check()
            if self.on_curve is not None:
                self.on_curve(curve, base + min(step, cfg.train_steps))

        plateau = Plateau(max(1, min(cfg.plateau_window, cfg.train_steps // 2)), cfg.plateau_gain,
                          cfg.plateau_max_factor * cfg.train_steps)
        steps = train_mlps(nets, generators, self.train, self.test, cfg.train_steps, cfg.batch, cfg.learning_rate,
                           curve, cfg.log_every, logged, plateau)
        seconds = (time.perf_counter() - started) / len(nets)
        self.stage(f"measuring {label}", cfg.train_steps)
        results = []
        for i, (net, seed) in enumerate(zip(nets, seeds, strict=True)):
            analysed = copy.deepcopy(net).double().eval()
            self.networks.setdefault(kind, []).append(analysed)
            results.append(self.measured(kind, analysed, seed, seconds, curve.member(i), steps))
            self.stage(f"measured {label}, seed {seed}", MEASURE_UNITS)
        return results

    def measured(self, kind: str, net, seed: int | None, seconds: float = 0.0, curve: TrainingCurve | None = None,
                 steps: int = 0) -> NetResult:
        return measure_network(kind, net, self.train, self.test, self.cfg, seed, self.generator, seconds, curve,
                               self.progress, steps)

    def run(self) -> SettingRow:
        cfg, k, d = self.cfg, self.k, self.d
        fixed = self.trained("fixed", [cfg.width] * cfg.depth, [cfg.seed * 1000 + s for s in range(cfg.seeds)])
        (wide,) = self.trained("wide", [wide_width(cfg, k, self.n)] * cfg.depth, [cfg.seed * 1000 + 999])
        self.stage(f"measuring the zigzag, {self.where}", 0)
        zig = ZigzagNet(d, k, self.train.margin).double().eval()
        zigzag = self.measured("zigzag", zig, None)
        self.stage(f"measuring 1-NN, {self.where}", MEASURE_UNITS)
        nn_net = NearestNeighbourNet(self.train.x.double(), self.train.y)
        nearest = self.measured("nearest", nn_net, None)
        self.stage(f"done {self.where}", MEASURE_UNITS)
        self.networks |= {"zigzag": [zig], "nearest": [nn_net]}
        truth = float(np.median(edge_distance(self.test.x[:, 0].double(), k).numpy())) / self.train.margin
        return SettingRow(k, d, self.train.margin, self.n, len(self.test.x), fixed, zigzag, nearest, wide, truth,
                          self.networks)


def run_setting(job: SettingJob, progress: Progress | None = None, on_curve=None, on_stage=None) -> SettingRow:
    """Train and measure every network of one (K, d, n). `on_curve(curve, units_done)` is called as training
    logs; `on_stage(text, units_done)` as each piece starts or ends (units as in `setting_units`)."""
    return _Setting(job, progress, on_curve, on_stage).run()


def setting_units(config: StabilityConfig) -> int:
    return 2 * config.train_steps + (config.seeds + 3) * MEASURE_UNITS


def run_stability_lab(config: StabilityConfig, progress: Progress | None = None) -> StabilityResult:
    """Every setting in order; partial results (a `StabilitySnapshot`) go through `progress.report`."""
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

    for i, (k, d, n) in enumerate(settings):
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
            rows.append(run_setting(SettingJob(k, d, config, n), progress, on_curve, on_stage))
        report((i + 1) * per_setting)
    result = StabilityResult(config, rows, time.perf_counter() - started, about=ABOUT, departures=DEPARTURES)
    result.verdict = verdict(rows, config)
    result.headline = verdict_sentence(rows, config)
    result.summary = summarise(result)
    return result
