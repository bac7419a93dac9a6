"""The Dask backend of the sweep executor: the same plain-data jobs on a cluster's workers.

`DaskExecutor` keeps the `Executor` interface (submit -> Future, map_as_completed, cancel_all), so a
sweep does not know whether its jobs run on the engine's own workers or on a cluster. It needs the
optional extra `advlens[cluster]` (the `distributed` package); nothing here is imported otherwise.

What travels: the job (`SweepJob`, plain data) and the model's `ModelSource` (spec, card, trust
choice). Each worker loads a model once per source and device and keeps it for every later job
(`worker_model`); a model built in code, with no source, is sent once to every worker instead. Every
job seeds its own `torch.Generator`, and every worker runs torch on the same number of threads as
the local pool (set it with `torch_threads`), so a sweep gives the same numbers on either backend
and in any order.

Cancel: a queued job is dropped by the scheduler; a running one sees its task released on its worker
and stops at its next attack step. A worker that dies mid-sweep has its jobs rescheduled by the
scheduler on the others (up to `distributed.scheduler.allowed-failures` times); each job's future is
resolved once, so nothing is lost or counted twice.

Memory: each worker sets glibc's trim threshold (`TRIM_THRESHOLD`), so memory freed by one job goes
back to the system instead of piling up; see the README for the measured figures.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import threading
import uuid
from collections.abc import Callable
from typing import Any

import dask
import distributed
from distributed.diagnostics.plugin import WorkerPlugin

from .allocator import set_malloc_thresholds
from .errors import AdvLensError, Cancelled, as_engine_error
from .executor import Executor, SweepJob, SweepResult, run_job
from .jobs import JobHandle
from .loaders.source import load_source
from .model import Model
from .model_source import ModelSource

log = logging.getLogger(__name__)

TRIM_THRESHOLD = 64 * 1024 * 1024  # bytes free at the heap's top before glibc returns them (see module doc)
MMAP_THRESHOLD = 32 * 1024 * 1024  # allocations below this come from the heap, not a fresh zeroed mapping
CONNECT_TIMEOUT_S = 20


# ------------------------------------------------------------------------------------------ worker side
_models: dict[str, Model] = {}
_models_lock = threading.Lock()
loads = 0  # models this worker process has loaded (a test reads it with client.run)


def worker_model(source: ModelSource, device: str) -> Model:
    """The model a source names, loaded once per worker process and device, then kept."""
    global loads
    key = source.cache_key(device)
    with _models_lock:
        if key not in _models:
            _models[key] = load_source(source, device)
            loads += 1
        return _models[key]



def worker_loads() -> int:
    return loads


class WorkerSetup(WorkerPlugin):
    """A Dask worker plugin: the same torch thread count as the local pool, and the malloc thresholds.

    It also works on workers someone else started (a SLURM job, a lab machine), where no environment
    variable of ours was set before the process began.
    """

    name = "advlens-setup"

    def __init__(self, torch_threads: int, trim: int = TRIM_THRESHOLD, mmap: int = MMAP_THRESHOLD):
        self.torch_threads = int(torch_threads)
        self.trim = int(trim)
        self.mmap = int(mmap)

    def setup(self, worker: Any = None) -> None:
        import torch

        torch.set_num_threads(self.torch_threads)
        set_malloc_thresholds(self.trim, self.mmap)


class _TaskControl:
    """The stop flag of a job running as a Dask task: set once the scheduler released the task
    (the client cancelled its future), read from the worker's own state, with no round trip."""

    def __init__(self) -> None:
        from distributed.worker import thread_state

        self._worker = distributed.get_worker()
        self._key = getattr(thread_state, "key", None)

    @property
    def cancelled(self) -> bool:
        if self._key is None:
            return False
        task = self._worker.state.tasks.get(self._key)
        return task is None or task.state in ("cancelled", "released", "forgotten")


def run_task(job: SweepJob, model: ModelSource | Model | None) -> SweepResult:
    """One job on a Dask worker: its model from the worker's cache (or as sent), its stop flag the task's."""
    if isinstance(model, Model) or (model is None and not job.model):  # sent once, or a job that needs none
        loaded = model
    else:
        loaded = worker_model(model if model is not None else ModelSource(job.model), job.device)
    return run_job(job, loaded, _TaskControl())


# ------------------------------------------------------------------------------------------ caller side
class _DaskHandle(JobHandle):
    """A job's future on this side; `cancel()` also cancels its Dask task (queued or running)."""

    def __init__(self, job: SweepJob, on_cancel: Callable[[_DaskHandle], None]):
        super().__init__(job=job, name=job.tag)
        self._on_cancel = on_cancel
        self.task: Any = None

    def cancel(self) -> bool:
        if self.done():
            return False
        self._on_cancel(self)
        return super().cancel()


class DaskExecutor(Executor):
    """Sweep jobs on a Dask cluster: a running scheduler's `address`, or a LocalCluster of `workers`.

    A LocalCluster listens on the loopback interface only, has no dashboard, and runs one task at a
    time per worker process with `torch_threads` torch threads.
    """

    def __init__(self, address: str | None = None, workers: int = 2, torch_threads: int = 1,
                 trim: int = TRIM_THRESHOLD, client: Any = None):
        self.cluster = None
        self._own_client = client is None
        if client is not None:
            self.client = client
        elif address:
            try:
                self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise AdvLensError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        else:
            self.cluster = start_local_cluster(workers, torch_threads, trim)
            self.client = distributed.Client(self.cluster, set_as_default=False)
        self.torch_threads = int(torch_threads)
        self.client.register_plugin(WorkerSetup(torch_threads, trim), name=WorkerSetup.name)
        self._sources: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._live: set[_DaskHandle] = set()
        self._closed = False

    @property
    def address(self) -> str:
        return str(self.client.scheduler.address)

    def worker_count(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def register_model(self, model: Model, key: str | None = None) -> str:
        """Jobs naming `key` get this model: loaded by each worker from its source, or sent once to each."""
        key = key or f"{model.card.name}@{id(model):x}"
        if model.source is not None:
            self._sources[key] = model.source
        else:
            self._sources[key] = self.client.scatter(model, broadcast=True, hash=False)
        return key

    def submit(self, job: SweepJob) -> cf.Future:
        with self._lock:
            if self._closed:
                raise AdvLensError("the cluster executor has been shut down")
        handle = _DaskHandle(job, self._cancel)
        model = self._sources.get(job.model, ModelSource(job.model)) if job.model else None
        handle.task = self.client.submit(run_task, job, model, pure=False,
                                         key=f"advlens-{job.tag or 'job'}-{uuid.uuid4().hex[:12]}")
        handle.set_running_or_notify_cancel()
        with self._lock:
            self._live.add(handle)
        handle.task.add_done_callback(lambda task, handle=handle: self._finished(handle, task))
        return handle

    def _finished(self, handle: _DaskHandle, task: Any) -> None:
        """On Dask's callback thread: resolve the job's future once from its task's end."""
        with self._lock:
            self._live.discard(handle)
        if handle.done():
            return
        try:
            if task.status == "cancelled":
                raise Cancelled("cancelled")
            value = task.result()
        except BaseException as exc:  # noqa: BLE001 - every job error must reach its future
            error = as_engine_error(exc)
            if not handle.done():
                try:
                    handle.set_exception(error)
                except cf.InvalidStateError:
                    pass
            return
        try:
            handle.set_result(value)
        except cf.InvalidStateError:
            pass

    def _cancel(self, handle: _DaskHandle) -> None:
        with self._lock:
            self._live.discard(handle)
        if handle.task is not None and not self._closed:
            self.client.cancel([handle.task], asynchronous=False)
        # the handle was set running so the scheduler owns its fate: end it here as cancelled
        if not handle.done():
            try:
                handle.set_exception(Cancelled("cancelled"))
            except cf.InvalidStateError:
                pass

    def cancel_all(self) -> None:
        with self._lock:
            live, self._live = list(self._live), set()
        tasks = [h.task for h in live if h.task is not None]
        if tasks:
            self.client.cancel(tasks)
        for handle in live:
            if not handle.done():
                try:
                    handle.set_exception(Cancelled("cancelled"))
                except cf.InvalidStateError:
                    pass

    def shutdown(self, cancel: bool = True) -> None:
        if cancel:
            self.cancel_all()
        else:
            cf.wait(list(self._live))
        with self._lock:
            self._closed = True
        if self._own_client:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def start_local_cluster(workers: int, torch_threads: int = 1, trim: int = TRIM_THRESHOLD) -> Any:
    """A LocalCluster on loopback: `workers` processes, one task and `torch_threads` threads each.

    From a daemonic process (the GUI's engine process), which multiprocessing forbids to have children,
    the scheduler and workers start as subprocesses instead (`SubprocessCluster`); the worker plugin
    sets their threads and malloc thresholds all the same.
    """
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}))
    environ |= {"MALLOC_TRIM_THRESHOLD_": str(trim), "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD),
                "OMP_NUM_THREADS": str(torch_threads), "MKL_NUM_THREADS": str(torch_threads)}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ, "distributed.worker.daemon": False}):
        if multiprocessing.current_process().daemon:
            from distributed.deploy.subprocess import SubprocessCluster

            return SubprocessCluster(host="127.0.0.1", dashboard_address=None, n_workers=workers,
                                     threads_per_worker=1, silence_logs=logging.ERROR)
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
