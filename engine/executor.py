"""Sweeps as many independent jobs behind one small interface: submit plain-data jobs, get futures.

A robust-accuracy curve or the Resolution lab is a list of independent attacks. Each is described as
plain, picklable data (`SweepJob`: a model key, the attack settings as a dict, image arrays, labels,
a seed) and returns plain data (`SweepResult`), so the same sweep runs on the engine's job workers
here and could run on a cluster backend (Dask) later without knowing which: a backend only has to
turn `submit(job)` into a `concurrent.futures.Future` and call `run_job` wherever the job lands.
Each job owns its `torch.Generator`, seeded from the job, so results do not depend on which thread or
worker ran it, or in what order.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from .config import AttackConfig
from .errors import Cancelled, ConfigError
from .jobs import JobControl, JobHandle, JobWorker
from .loaders import load_model
from .model import Model
from .norms import lp_norm

POLL_S = 0.05  # how often a waiting sweep looks at its stop flag


@dataclass(eq=False)
class SweepJob:
    """One independent piece of a sweep, as plain data (picklable; `attack` is JSON-able).

    `model` is a spec `load_model` understands ('demo', a file, `torchvision:NAME`) or a key from
    `Executor.register_model`. The configured attack runs batch by batch; a minimal-norm search by
    bisection is the catalogue's `pgd-bisect`, an attack like any other.
    An analysis or lab with a job of its own ('noise', 'landscape', 'stability-setting') passes its
    module-level function as `function` (it pickles by name, so any backend can call it) with its
    inputs in `params`; the executor names nothing above it.
    """

    model: str
    attack: dict[str, Any]
    images: np.ndarray  # (N, C, H, W) float in [0, 1]; uint8 is read as value / 255
    labels: np.ndarray  # (N,) classes to move away from (or towards, with attack['target'])
    seed: int = 0  # the job's own torch.Generator starts here (it overrides attack['seed'])
    batch: int = 64
    method: str = "attack"  # 'attack', or the name of `function`'s kind of job ('noise', ...)
    device: str = "auto"  # where a model loaded by spec goes; a registered model stays where it is
    keep_adversarial: bool = True  # False: the result carries no images (a robust-accuracy point needs none)
    tag: str = ""  # the caller's name for the job (an epsilon, a resolution), echoed in the result
    keep_metrics: bool = False  # True: the result carries every step's scalars (for attack diagnostics)
    params: dict[str, Any] = field(default_factory=dict)  # what an analysis' own method needs besides (plain data)
    # an analysis' or lab's own job, called as function(job, model, x, y, config, should_stop, report) -> values;
    # `report(done, total, partial)` publishes progress inside the job where the backend can carry it
    function: Callable[..., dict] | None = None


@dataclass(eq=False)
class SweepResult:
    """What a job found, as plain data: the fields mean what they mean in a `RunRecord`."""

    tag: str
    seed: int
    success: np.ndarray  # (N,) bool
    norms: dict[str, list[float]]  # 'l2', 'linf' of (adversarial - image), per image
    adversarial: np.ndarray | None  # (N, C, H, W), the images' dtype; None unless the job kept it
    duration_s: float = 0.0
    status: str = "finished"
    metrics: dict[str, np.ndarray] | None = None  # name -> (steps, N), as in a record; only with keep_metrics
    values: dict[str, Any] = field(default_factory=dict)  # what an analysis' own method found (plain data)


def job_images(job: SweepJob) -> torch.Tensor:
    """The job's images as a float tensor in [0, 1], sharing the array's memory where it can."""
    images = np.asarray(job.images)
    if images.dtype == np.uint8:
        return torch.from_numpy(images.astype(np.float32) / 255.0)
    return torch.from_numpy(images)


def run_job(job: SweepJob, model: Model | None, control: JobControl | None = None) -> SweepResult:
    """Run one job on a loaded model; any backend calls this where the job lands.

    `control.cancel()` stops it at the next attack step with `Cancelled`.
    """
    from .batches import run_attack_on
    from .diagnostics.trace import StepTrace

    start = time.perf_counter()
    if (job.function is None) != (job.method == "attack"):
        raise ConfigError(f"job method '{job.method}' needs its function" if job.function is None
                          else f"a job with its own function needs its method named, not '{job.method}'")
    should_stop = (lambda: control.cancelled) if control is not None else None
    x = job_images(job)
    y = torch.as_tensor(np.asarray(job.labels), dtype=torch.long)
    config = replace(AttackConfig.from_dict(dict(job.attack)), seed=int(job.seed))
    if job.function is not None:
        values = job.function(job, model, x, y, config, should_stop, getattr(control, "report", None))
        return SweepResult(tag=job.tag, seed=int(job.seed), success=np.asarray(values.pop("success"), dtype=bool),
                           norms={}, adversarial=None, duration_s=round(time.perf_counter() - start, 4),
                           values=values)
    trace = StepTrace() if job.keep_metrics else None
    adv, ok = run_attack_on(model, x, y, config, batch=job.batch, should_stop=should_stop, trace=trace)
    with torch.no_grad():
        delta = adv - x
        norms = {"l2": lp_norm(delta, "l2").tolist(), "linf": lp_norm(delta, "linf").tolist()}
    return SweepResult(tag=job.tag, seed=int(job.seed), success=ok.numpy().astype(bool), norms=norms,
                       adversarial=adv.numpy() if job.keep_adversarial else None,
                       duration_s=round(time.perf_counter() - start, 4),
                       metrics=trace.metrics() if trace is not None else None)


def _job_handle(job: SweepJob) -> JobHandle:
    """A sweep job's future: a `JobHandle`, whose `cancel()` also stops the job at its next step."""
    return JobHandle(job=job, name=job.tag)


class ModelCache:
    """Models by key, loaded once per executor however many jobs name them (thread-safe).

    Loading happens under the lock, so two jobs naming the same model never load it twice.
    """

    def __init__(self, loader: Callable[[str, str], Model] | None = None):
        self._loader = loader or (lambda spec, device: load_model(spec, device))
        self._models: dict[tuple[str, str], Model] = {}
        self._registered: dict[str, Model] = {}
        self._lock = threading.Lock()
        self.loads = 0

    def register(self, model: Model, key: str | None = None) -> str:
        """Make an already loaded model available to jobs as `key` (default: one key per model object)."""
        key = key or f"{model.card.name}@{id(model):x}"
        with self._lock:
            self._registered[key] = model
        return key

    def get(self, spec: str, device: str = "auto") -> Model:
        with self._lock:
            if spec in self._registered:
                return self._registered[spec]
            if (spec, device) not in self._models:
                self._models[(spec, device)] = self._loader(spec, device)
                self.loads += 1
            return self._models[(spec, device)]

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._registered.clear()


class Executor(ABC):
    """Where a sweep's jobs run: submit plain-data jobs, get futures, cancel all, shut down.

    A future's result is a `SweepResult`; its exception is one of the engine's `AdvLensError`s with a
    plain message, worded by `errors.as_engine_error` (`Cancelled` for a job stopped by `cancel_all` or
    `future.cancel()`).
    """

    @abstractmethod
    def register_model(self, model: Model, key: str | None = None) -> str:
        """Let jobs use a model the caller already loaded (returns the key to put in `SweepJob.model`)."""

    @abstractmethod
    def submit(self, job: SweepJob) -> cf.Future:
        """Queue one job; its future resolves to a `SweepResult`."""

    @abstractmethod
    def cancel_all(self) -> None:
        """Cancel queued jobs and stop running ones at their next step."""

    @abstractmethod
    def shutdown(self, cancel: bool = True) -> None:
        """Stop taking jobs, cancel what is left (with cancel=False: finish it), wait for the workers."""

    def map_as_completed(self, jobs: Iterable[SweepJob],
                         should_stop: Callable[[], bool] | None = None) -> Iterator[tuple[int, SweepResult]]:
        """Submit every job and yield (index, result) as each finishes; a failed job raises its error."""
        futures = [self.submit(job) for job in jobs]
        index = {id(f): i for i, f in enumerate(futures)}
        try:
            for future in as_completed(futures, should_stop):
                yield index[id(future)], result_of(future)
        finally:
            cancel_and_wait(futures)

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


class InProcessExecutor(Executor):
    """The engine's job workers in this process, with a model cache shared by its jobs.

    One worker by default: on a CPU torch already spreads each operation over every core, so a second
    job in parallel only competes for them (and doubles memory); on one GPU the kernels of two jobs
    queue on the same device anyway. More workers pay off where the per-step Python overhead
    dominates (tiny images, many small jobs) or with several devices.
    """

    def __init__(self, max_workers: int = 1, loader: Callable[[str, str], Model] | None = None):
        if max_workers < 1:
            raise ConfigError(f"an executor needs at least one worker, got {max_workers}")
        self.models = ModelCache(loader)
        self._worker = JobWorker(threads=max_workers, name="advlens-sweep")

    def register_model(self, model: Model, key: str | None = None) -> str:
        return self.models.register(model, key)

    def submit(self, job: SweepJob) -> JobHandle:
        def work(control: JobControl) -> SweepResult:
            model = self.models.get(job.model, job.device) if job.model else None  # a lab's job may need none
            return run_job(job, model, control)

        return self._worker.submit(work, handle=_job_handle(job))

    def cancel_all(self) -> None:
        self._worker.cancel_all()

    def shutdown(self, cancel: bool = True) -> None:
        self._worker.shutdown(wait=True, cancel=cancel)


def executor_for(scheduler: str | None, torch_threads: int | None = None) -> Executor:
    """The executor a scheduler string names (`schedulers.parse_scheduler`: '' the local pool, 'local:N' a
    Dask LocalCluster, tcp://HOST:PORT a running scheduler); the caller shuts it down. Cluster workers run
    torch on `torch_threads` threads (default: as many as this process, at most cores / N for local:N);
    numbers match the local pool's bit for bit only where both use the same count."""
    from .schedulers import parse_scheduler

    choice = parse_scheduler(scheduler)
    if choice.kind == "pool":
        return InProcessExecutor()
    try:
        from .cluster import DaskExecutor
    except ImportError as exc:
        raise ConfigError(f"{choice.describe()} needs Dask: pip install 'advlens[cluster]'") from exc
    threads = torch_threads if torch_threads is not None else max(int(torch.get_num_threads()), 1)
    if choice.kind == "local-cluster":
        # N workers on this machine share its cores: no more torch threads each than the cores give them
        cores = max((os.cpu_count() or 1) // choice.workers, 1)
        return DaskExecutor(workers=choice.workers, torch_threads=min(threads, cores) if torch_threads is None
                            else threads)
    return DaskExecutor(address=choice.address, torch_threads=threads)


def finished(value: Any) -> cf.Future:
    """A future that is already done, for a piece of a sweep that needs no job (epsilon 0)."""
    future: cf.Future = cf.Future()
    future.set_result(value)
    return future


def result_of(future: cf.Future, should_stop: Callable[[], bool] | None = None) -> Any:
    """The future's result; `Cancelled` if it was cancelled or once `should_stop()` says so."""
    if should_stop is not None and should_stop():
        raise Cancelled("cancelled")
    while True:
        try:
            return future.result(timeout=POLL_S if should_stop is not None else None)
        except cf.CancelledError as exc:
            raise Cancelled("cancelled") from exc
        except cf.TimeoutError:
            if should_stop is not None and should_stop():
                raise Cancelled("cancelled") from None


def as_completed(futures: Sequence[cf.Future],
                 should_stop: Callable[[], bool] | None = None) -> Iterator[cf.Future]:
    """Yield each future as it finishes, like `concurrent.futures.as_completed`, watching a stop flag.

    Once `should_stop()` says so, the futures not yet done are cancelled and `Cancelled` is raised.
    """
    pending = set(futures)
    while pending:
        done, pending = cf.wait(pending, timeout=POLL_S if should_stop is not None else None,
                                return_when=cf.FIRST_COMPLETED)
        yield from (f for f in futures if f in done)
        if pending and should_stop is not None and should_stop():
            cancel_and_wait(pending)
            raise Cancelled("cancelled")


def in_order(futures: Sequence[cf.Future], should_stop: Callable[[], bool] | None = None) -> Iterator[Any]:
    """Results in submission order, each as soon as it and those before it are done (for curves and
    tables built up piece by piece); the futures left are cancelled if the caller stops early or one fails."""
    try:
        for future in futures:
            yield result_of(future, should_stop)
    finally:
        cancel_and_wait(futures)


def cancel_and_wait(futures: Iterable[cf.Future]) -> None:
    """Cancel the futures not done and wait until running ones have stopped (each within one step)."""
    futures = list(futures)
    for future in futures:
        if not future.done():
            future.cancel()
    cf.wait(futures)


class JobGroup:
    """The jobs of one sweep, on the caller's executor or on a default one it owns for the sweep.

    `with JobGroup(executor, progress_cancelled) as jobs:` On exit, its jobs that are not done are
    cancelled and waited for, so a cancelled or failed sweep leaves nothing running; an owned executor
    is shut down, a caller's stays usable.
    """

    def __init__(self, executor: Executor | None = None, should_stop: Callable[[], bool] | None = None):
        self._owned = executor is None
        self.executor: Executor = executor if executor is not None else InProcessExecutor()
        self.should_stop = should_stop
        self.futures: list[cf.Future] = []

    def __enter__(self) -> JobGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            cancel_and_wait(self.futures)
        finally:
            if self._owned:
                self.executor.shutdown()

    def register_model(self, model: Model) -> str:
        return self.executor.register_model(model)

    def submit(self, job: SweepJob) -> cf.Future:
        future = self.executor.submit(job)
        self.futures.append(future)
        return future

    def result(self, future: cf.Future) -> Any:
        """Wait for one of the group's results, watching the sweep's stop flag."""
        return result_of(future, self.should_stop)

    def in_order(self, futures: Sequence[cf.Future]) -> Iterator[Any]:
        return in_order(futures, self.should_stop)


def array_of(tensor: torch.Tensor) -> np.ndarray:
    """A host numpy view of a tensor for a job (no copy on the CPU; dtype kept, so numbers stay exact)."""
    return tensor.detach().cpu().numpy()
