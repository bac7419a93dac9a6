"""`advlens bench --sweep`: what the executor backends cost per job, the local pool against a Dask LocalCluster.

Many small jobs (a short PGD on a few small images, the shape of a robust-accuracy or Resolution-lab
piece) go through each backend in turn, rounds interleaved so a busy machine slows both alike; the
figures are medians over the rounds. Per backend: jobs/s (wall clock) on those jobs, and the per-job
overhead, measured on near-empty jobs (one step, one 8 px image): the time a worker spends per job
outside the job itself (wall x workers / jobs - the jobs' own median duration: queueing, pickling,
transfer, scheduling). Every backend runs torch on one thread per
worker, and the figures say so. For the cluster, the workers' resident memory after each round tells
whether it stays flat.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import AttackConfig
from .demo.shapes import eval_seeds, render_batch
from .executor import Executor, InProcessExecutor, SweepJob
from .loaders import load_demo_model


@dataclass
class BackendFigures:
    backend: str
    workers: int
    torch_threads: int
    jobs_per_s: list[float] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    worker_rss_mib: list[list[float]] = field(default_factory=list)  # per round: each worker's RSS

    def summary(self) -> dict:
        med = statistics.median
        out = {"backend": self.backend, "workers": self.workers, "torch_threads": self.torch_threads,
               "jobs_per_s": round(med(self.jobs_per_s), 2),
               "jobs_per_s_range": [round(min(self.jobs_per_s), 2), round(max(self.jobs_per_s), 2)],
               "overhead_ms": round(med(self.overhead_ms), 1),
               "overhead_ms_range": [round(min(self.overhead_ms), 1), round(max(self.overhead_ms), 1)]}
        if self.worker_rss_mib:
            out["worker_rss_mib_first"] = self.worker_rss_mib[0]
            out["worker_rss_mib_last"] = self.worker_rss_mib[-1]
        return out


def sweep_jobs(key: str, count: int, images: int, size: int, steps: int) -> list[SweepJob]:
    x, y = render_batch(eval_seeds(images, offset=4000), size)
    x = x.astype(np.float32)
    return [SweepJob(key, AttackConfig(attack="pgd", norm="linf", eps=(1 + i % 8) / 255, steps=steps).to_dict(),
                     x, y, seed=i, device="cpu", keep_adversarial=False, tag=f"bench{i}") for i in range(count)]


def _wall(executor: Executor, jobs: list[SweepJob]) -> tuple[float, float]:
    """(wall seconds for all the jobs, the jobs' own median duration)."""
    started = time.perf_counter()
    results = [r for _, r in executor.map_as_completed(jobs)]
    return time.perf_counter() - started, statistics.median(r.duration_s for r in results)


def _round(executor: Executor, key: str, figures: BackendFigures, count: int, images: int, size: int,
           steps: int) -> None:
    """jobs/s on small real jobs; the overhead on near-empty ones (one step on one 8 px image), where
    nearly all of a worker's time per job is the backend's."""
    wall, _ = _wall(executor, sweep_jobs(key, count, images, size, steps))
    figures.jobs_per_s.append(count / wall)
    wall, own = _wall(executor, sweep_jobs(key, count, 1, 8, 1))
    figures.overhead_ms.append((wall * figures.workers / count - own) * 1000)


def _worker_rss(executor) -> list[float]:
    def rss() -> float:
        import psutil

        return psutil.Process().memory_info().rss / 2**20

    return [round(v, 1) for v in executor.client.run(rss).values()]


def run_sweep_bench(rounds: int = 9, jobs: int = 16, images: int = 4, size: int = 16, steps: int = 10,
                    workers: int = 2) -> dict:
    from .cluster import DaskExecutor

    torch.set_num_threads(1)
    model = load_demo_model("cpu")
    started = time.perf_counter()
    dask = DaskExecutor(workers=workers, torch_threads=1)
    startup = time.perf_counter() - started
    backends = [
        (BackendFigures("local pool", 1, 1), InProcessExecutor(1)),
        (BackendFigures("local pool", 2, 1), InProcessExecutor(2)),
        (BackendFigures("dask LocalCluster", workers, 1), dask),
    ]
    try:
        keys = [executor.register_model(model) for _, executor in backends]
        for i, (figures, executor) in enumerate(backends):  # warm-up: models loaded, code paths imported
            _round(executor, keys[i], BackendFigures("warm-up", figures.workers, 1), max(workers * 2, 4), images,
                   size, steps)
        for r in range(rounds):
            order = list(range(len(backends)))
            if r % 2:
                order.reverse()
            for i in order:
                figures, executor = backends[i]
                _round(executor, keys[i], figures, jobs, images, size, steps)
                if executor is dask:
                    figures.worker_rss_mib.append(_worker_rss(dask))
    finally:
        for _, executor in backends:
            executor.shutdown()
    return {"rounds": rounds, "jobs_per_round": jobs, "job": f"PGD Linf {steps} steps on {images} images at "
            f"{size} px (demo model)", "cpu_count": os.cpu_count(), "cluster_startup_s": round(startup, 2),
            "backends": [figures.summary() for figures, _ in backends]}


def format_sweep_bench(result: dict) -> str:
    lines = [f"sweep executors: {result['jobs_per_round']} jobs per round ({result['job']}), "
             f"{result['rounds']} interleaved rounds, medians [min-max]; {result['cpu_count']} cores; "
             f"LocalCluster start-up {result['cluster_startup_s']} s"]
    for b in result["backends"]:
        lines.append(f"  {b['backend']:<18s} {b['workers']} worker(s) x {b['torch_threads']} torch thread: "
                     f"{b['jobs_per_s']:7.2f} jobs/s [{b['jobs_per_s_range'][0]}-{b['jobs_per_s_range'][1]}]  "
                     f"overhead {b['overhead_ms']:6.1f} ms/job [{b['overhead_ms_range'][0]}-"
                     f"{b['overhead_ms_range'][1]}]")
        if "worker_rss_mib_first" in b:
            lines.append(f"  {'':<18s} worker RSS MiB after round 1: {b['worker_rss_mib_first']}, after the last: "
                         f"{b['worker_rss_mib_last']}")
    return "\n".join(lines)


def main(quick: bool = False, as_json: bool = False, rounds: int | None = None) -> int:
    result = run_sweep_bench(rounds=rounds or (3 if quick else 9), jobs=8 if quick else 16)
    print(json.dumps(result, indent=2) if as_json else format_sweep_bench(result))
    return 0

