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

import concurrent.futures as cf
import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import Cancelled
from ..executor import POLL_S, Executor, JobGroup, SweepJob
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


# ---------------------------------------------------------------------------------------------- the lab
class _StopCheck:
    """A job's stop flag in the shape `run_setting` asks it (`check()` between steps, `cancelled` in a search)."""

    def __init__(self, should_stop):
        self.should_stop = should_stop

    @property
    def cancelled(self) -> bool:
        return self.should_stop is not None and bool(self.should_stop())

    def check(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise Cancelled("cancelled")


def setting_job(job, model, x, y, config, should_stop, report=None) -> dict:
    """The executor's 'stability-setting' job: one (K, d) trained and measured wherever the job lands.

    Where the backend can carry it (the local pool), `report` publishes the live training curve and
    stage inside the setting, in the units of `setting_units`."""
    setting: SettingJob = job.params["setting"]
    total = setting_units(setting.config)
    stage: dict = {"text": "starting", "curve": None}

    def on_curve(curve: TrainingCurve, units: int) -> None:
        stage["curve"] = curve
        report(units, total, (curve, stage["text"]))

    def on_stage(text: str, units: int) -> None:
        # the newest curve rides along: a reader that polls only after the last report still gets it
        stage["text"] = text
        report(units, total, (stage["curve"], text))

    with torch_threads(setting.config.threads):
        row = run_setting(setting, _StopCheck(should_stop), on_curve if report else None,
                          on_stage if report else None)
    return {"success": np.zeros(0, dtype=bool), "row": row}


def _setting_sweep_job(setting: SettingJob) -> SweepJob:
    empty = np.zeros((0, 1, 1, 1), dtype=np.float32)
    return SweepJob("", {}, empty, np.zeros(0, dtype=np.int64), method="stability-setting", function=setting_job,
                    keep_adversarial=False, params={"setting": setting},
                    tag=f"K={setting.stripes} d={setting.dim} n={setting.train_points or setting.config.train_points}")


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
        futures = [jobs.submit(_setting_sweep_job(SettingJob(k, d, config, n))) for k, d, n in settings]
        for i, future in enumerate(futures):
            base, seen = i * per_setting, 0
            control = getattr(future, "control", None)

            while True:
                ended = future.done()  # read once more after the end: a setting that ended between
                if not ended:  # two polls still shows its last curve
                    if stop is not None and stop():
                        raise Cancelled("cancelled")
                    cf.wait([future], timeout=POLL_S)
                version, done, _total, partial = control.snapshot() if control is not None else (0, 0, 0, None)
                if version != seen and partial is not None:
                    seen = version
                    curve, state["stage"] = partial
                    state["curve"] = curve if curve is not None else state["curve"]
                    report(base + done)
                if ended:
                    break
            rows.append(jobs.result(future).values["row"])
            report((i + 1) * per_setting)
    result = StabilityResult(config, rows, time.perf_counter() - started, about=ABOUT, departures=DEPARTURES)
    result.verdict = verdict(rows, config)
    result.headline = verdict_sentence(rows, config)
    result.summary = summarise(result)
    return result
