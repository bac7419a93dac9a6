"""The engine process's work: models by key, one superseding job worker per lane, jobs from plain data.

Design note. `engine_process.main` reads requests from the command channel and hands them here;
everything that touches torch happens in this module's jobs, on lane workers (`jobs.JobWorker`
with `supersede=True`), never on the loop that reads the channel, so a cancel or a pause arrives
while a forward pass runs. A run's per-step scalars and frames go into shared memory
(`SharedRunTelemetry`), published only when a frame is due; its record, a model's description, a
prediction and every analysis or lab result come back as one `JobEnded` event. Errors become
`ErrorInfo` (type, one-line message, what a dialog needs: the trust question, a card to confirm).
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .allocator import release_free_memory, tune_for_torch
from .catalogue import planned_steps
from .config import RunConfig
from .device import available_devices, device_name, select_device
from .errors import AdvLensError, ModelCardMissing, UntrustedModelError
from .images import load_image, resample
from .jobs import JobControl, JobHandle, JobWorker, stop_flag
from .metrics import METRIC_NAMES
from .model import Model
from .model_input import input_fit
from .protocol import (
    LANES,
    AnalysisJob,
    AttackRunJob,
    AttackStart,
    ControlJob,
    DiagnoseRunJob,
    EngineInfo,
    EngineSettings,
    ErrorInfo,
    ImageSource,
    JobControlled,
    JobEnded,
    JobProgress,
    JobStarted,
    LabJob,
    LoadModelJob,
    ModelInfo,
    MoveModelJob,
    Prediction,
    PredictJob,
    ReleaseJob,
    SleepJob,
    StartJob,
)
from .samples import SAMPLE_PREFIX, load_sample
from .session import default_label, execute, prediction, prepare_job
from .shared_telemetry import SharedTelemetry
from .telemetry import StepFrame, Telemetry

log = logging.getLogger(__name__)

KEEP_SEGMENTS = 4  # finished runs whose shared memory stays until the GUI releases it
SOURCE_CACHE = 4  # decoded image files kept, so a run or a resolution change does not decode again


def _loaders():
    """The loading API (bundled models, cards, file identity), wherever the loaders keep it."""
    from . import loaders

    return loaders


def _load_model(spec: str, device: str, card, trust: bool) -> Model:
    from .loaders import load_model

    return load_model(spec, device, card=card, trust_pickle=trust)


def _bundled() -> tuple[list[tuple[str, str]], list[str]]:
    from .loaders import bundled_models, control_models

    return ([(m.name, m.card.display_name) for m in bundled_models()], [name for names in control_models().values() for name in names])


class SharedRunTelemetry(Telemetry):
    """A run's telemetry in the engine process: the in-process writer the record is built from, plus the
    GUI's shared memory.

    Every drain (a flush of held logits, a frame, the end of the run) publishes the rows it stored, so
    the GUI's series reach every step the record holds. A frame is due at most `max_fps` a second and
    only once the GUI took the previous one (a GUI that draws slowly costs the loop a clock read, and
    the norms of that frame's step are taken only then); a frame offered is published at once with
    its step's metrics, so the mailbox always shows the newest framed step, also the last one and the
    one a pause stopped at.
    """

    def __init__(self, shared: SharedTelemetry, batch: int, max_fps: float = 60.0):
        super().__init__(batch=batch, frame_interval_s=1.0 / max_fps)
        self.shared = shared
        self.started = time.perf_counter()
        self.pushed = 0

    def push(self, index: int, logits: torch.Tensor) -> None:
        super().push(index, logits)
        self.pushed += 1
        self.shared.note_pushed(self.pushed)  # the GUI's step counter is never behind

    def frame_due(self) -> bool:
        return self.shared.frame_wanted() and super().frame_due()

    def offer_frame(self, frame: StepFrame) -> None:
        super().offer_frame(frame)
        self.publish(frame)

    def drain(self) -> int:
        """Move what accumulated to the host (one copy) and into shared memory: every drain publishes, also
        the one that builds the record at the end of a run."""
        with self._drain_lock:
            count = super().drain()
            if count:
                steps = self.step_indices.array()[-count:, 0]
                self.shared.write_rows(steps, {name: self.buffers[name].array()[-count:] for name in METRIC_NAMES})
            return count

    def publish(self, frame: StepFrame) -> None:
        """Store what is pending (the frame's step among it) and write the frame with its step's metrics."""
        with self._drain_lock:
            self.drain()
            held = self.step_indices.array()[:, 0]
            tail = held[-4 * self.flush_steps:]  # the frame's step is the newest row, or close to it
            hits = np.flatnonzero(tail == frame.index)
            metrics = {}
            if len(hits):
                row = len(held) - len(tail) + int(hits[-1])
                metrics = {name: float(self.buffers[name].array()[row, frame.image]) for name in METRIC_NAMES}
        image = frame.x_adv.detach().to(torch.float32).cpu().numpy().transpose(1, 2, 0)
        self.shared.write_frame(frame.index, frame.stage, image, metrics, frame.topk_prob.detach().cpu().numpy(),
                                frame.topk_index.detach().cpu().numpy(), time.perf_counter() - self.started)

    def finish(self) -> None:
        """The run ended (finished, cancelled or failed): publish what is left and close the segment."""
        self.drain()
        self.shared.mark_closed()


def for_gui(value: Any) -> Any:
    """What is sent to the GUI: plain data. A Stability lab row keeps its measured networks (torch modules)
    for the CLI; the GUI needs only the numbers, so the rows it gets carry none."""
    rows = getattr(value, "rows", None)
    if isinstance(rows, list) and rows and hasattr(rows[0], "networks"):
        return replace(value, rows=[replace(row, networks={}) for row in rows])
    return value


def _hwc(image: torch.Tensor) -> np.ndarray:
    return image.detach().to(torch.float32).cpu().numpy().transpose(1, 2, 0).copy()


def model_info(key: str, model: Model, spec: str = "") -> ModelInfo:
    card = model.card
    return ModelInfo(key=key, name=card.name, display_name=card.display_name, kind=model.kind,
                     labels=list(model.labels), mean=list(card.mean), std=list(card.std),
                     input_size=model.input_size, gradients_available=model.gradients_available,
                     device=str(model.device), notes=list(model.notes), card=card.to_dict(), spec=str(spec))


def moved_model(model: Model, device: torch.device) -> Model:
    """The model on `device`, as a copy where it can be: a job may still be running on the old one on
    another lane, and `nn.Module.to` would move it under that job."""
    try:
        return copy.deepcopy(model).to(device)
    except Exception:  # noqa: BLE001 - e.g. an onnxruntime session cannot be copied; it stays on the CPU anyway
        return model.to(device)


def error_info(exc: BaseException, job: Any = None) -> ErrorInfo:
    """A job's error as plain data; for a model file, what the trust or card dialog needs."""
    details: dict = {}
    if isinstance(exc, UntrustedModelError | ModelCardMissing) and isinstance(job, LoadModelJob):
        loaders = _loaders()
        path = str(getattr(exc, "path", "") or job.spec)
        details["path"] = path
        details["identity"] = loaders.file_identity(path) if Path(path).is_file() else ""
        if isinstance(exc, ModelCardMissing):
            suggestion = exc.suggestion
            request = suggestion.to_dict() if suggestion is not None else {"name": Path(path).stem, "labels": []}
            request["num_classes"] = len(request.get("labels", []))
            request["needs_architecture"] = exc.needs_architecture
            request["architectures"] = loaders.known_architectures() if exc.needs_architecture else []
            details["request"] = request
    return ErrorInfo(type=type(exc).__name__, message=str(exc), details=details)


class EngineServer:
    """Models by key, lanes of workers and the jobs on them, for one engine process."""

    def __init__(self, send: Callable[[object], None], settings: EngineSettings | None = None):
        self.send = send
        self.settings = settings or EngineSettings()
        self.models: dict[str, Model] = {}
        self.specs: dict[str, str] = {}  # what each model key was loaded from
        self.lanes: dict[str, JobWorker] = {}
        self.live: dict[int, JobHandle] = {}
        self._reported: dict[int, int] = {}
        self.segments: OrderedDict[int, SharedTelemetry] = OrderedDict()
        self._sources: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._transfer_models: dict[tuple[str, str], Model] = {}
        self._executors: dict[str, Any] = {}  # cluster executors by scheduler string, kept between jobs
        self._lock = threading.RLock()
        self._release_when_done: set[int] = set()

    # ------------------------------------------------------------------ what the engine offers
    def info(self, startup_s: float = 0.0, startup_cpu_s: float = 0.0) -> EngineInfo:
        bundled, controls = _bundled()
        loaders = _loaders()
        return EngineInfo(pid=_pid(), torch_version=str(torch.__version__), threads=torch.get_num_threads(),
                          devices=["auto", *available_devices()], bundled_models=bundled, control_models=controls,
                          model_suffixes=list(loaders.MODEL_SUFFIXES),
                          label_presets={"ImageNet (1000 classes)": loaders.imagenet_labels()}, startup_s=startup_s,
                          startup_cpu_s=startup_cpu_s, allocator=tune_for_torch())

    # ------------------------------------------------------------------ requests
    def handle(self, request: object) -> None:
        if isinstance(request, StartJob):
            self.start(request)
        elif isinstance(request, ControlJob):
            handle = self.live.get(request.job_id)
            if handle is not None:
                if request.action == "step":
                    handle.step(request.count)
                elif request.action in ("pause", "resume", "cancel"):
                    getattr(handle, request.action)()
                self.send(JobControlled(request.job_id, request.action))
        elif isinstance(request, ReleaseJob):
            self.release(request.job_id)

    def start(self, request: StartJob) -> JobHandle:
        if request.lane not in LANES:
            raise AdvLensError(f"unknown lane '{request.lane}'")
        lane = self.lanes.get(request.lane)
        if lane is None:
            lane = self.lanes[request.lane] = JobWorker(name=f"advlens-{request.lane}", supersede=True)
        work = self._work(request.job_id, request.job)
        handle = JobHandle(JobControl(paused=request.paused), job=request.job,
                           name=f"{type(request.job).__name__} #{request.job_id}")
        with self._lock:
            self.live[request.job_id] = handle
        handle.add_done_callback(lambda h, job_id=request.job_id: self._ended(job_id, h))
        lane.submit(work, handle=handle)
        return handle

    def release(self, job_id: int) -> None:
        """The GUI is done with a run's shared memory; a run still going keeps it until it ends."""
        with self._lock:
            if job_id in self.live:
                self._release_when_done.add(job_id)
                return
            segment = self.segments.pop(job_id, None)
        if segment is not None:
            segment.close()

    def tick(self) -> None:
        """Send the newest progress of every job that reported since the last tick (the loop calls this)."""
        with self._lock:
            live = list(self.live.items())
        for job_id, handle in live:
            version, done, total, partial = handle.control.snapshot()
            if version != self._reported.get(job_id, 0):
                self._reported[job_id] = version
                self._send_safely(JobProgress(job_id, version, done, total, handle.control.eta_seconds(),
                                              for_gui(partial)),
                                  fallback=JobProgress(job_id, version, done, total, handle.control.eta_seconds()))

    def _ended(self, job_id: int, handle: JobHandle) -> None:
        with self._lock:
            self.live.pop(job_id, None)
            idle = not self.live
            self._reported.pop(job_id, None)
            released = job_id in self._release_when_done
            self._release_when_done.discard(job_id)
        if released:
            self.release(job_id)
        outcome = handle.outcome()
        error = None
        if outcome.kind == "failed":
            error = error_info(handle.exception(timeout=0), handle.job)
        event = JobEnded(job_id, outcome.kind, for_gui(outcome.result), outcome.message, error,
                         round(handle.elapsed(), 4))
        self._send_safely(event, fallback=JobEnded(job_id, "failed", None, "the result could not be sent to the window",
                                                   ErrorInfo("AdvLensError", "the result could not be sent")))
        if idle:  # what the run's steps kept for each other goes back to the system (allocator.py)
            release_free_memory()

    def _send_safely(self, event: object, fallback: object) -> None:
        try:
            self.send(event)
        except Exception:  # noqa: BLE001 - an unpicklable result must still end the job on the GUI's side
            log.exception("cannot send %s", type(event).__name__)
            self.send(fallback)

    def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel every job, wait a little for the lanes, and remove every shared-memory segment."""
        for lane in self.lanes.values():
            lane.cancel_all()
        deadline = time.monotonic() + timeout
        for lane in self.lanes.values():
            for handle in lane.live():
                try:
                    handle.exception(timeout=max(deadline - time.monotonic(), 0.0))
                except Exception:  # noqa: BLE001 - a job that does not stop in time is left to the process exit
                    pass
        with self._lock:
            segments, self.segments = list(self.segments.values()), OrderedDict()
            executors, self._executors = list(self._executors.values()), {}
        for segment in segments:
            segment.close()
        for executor in executors:
            try:
                executor.shutdown()
            except Exception:  # noqa: BLE001 - a cluster that went away must not stop the engine closing
                log.exception("cannot shut down a cluster executor")

    # ------------------------------------------------------------------ jobs
    def _work(self, job_id: int, job: Any) -> Callable[[JobControl], Any]:
        if isinstance(job, AttackRunJob):
            return lambda control: self._attack(job_id, job, control)
        table = {LoadModelJob: self._load, MoveModelJob: self._move, PredictJob: self._predict,
                 AnalysisJob: self._analysis, LabJob: self._lab, SleepJob: self._sleep,
                 DiagnoseRunJob: self._diagnose}
        fn = table.get(type(job))
        if fn is None:
            raise AdvLensError(f"the engine does not know how to run a {type(job).__name__}")

        def work(control: JobControl) -> Any:
            self.send(JobStarted(job_id))
            return fn(job, control)

        return work

    def model(self, key: str) -> Model:
        model = self.models.get(key)
        if model is None:
            raise AdvLensError("no model is loaded: open a model first")
        return model

    def _load(self, job: LoadModelJob, control: JobControl) -> ModelInfo:
        card = None
        if job.card is not None:
            card = _loaders().card_from_dict(job.card, where="the model card you entered")
        model = _load_model(job.spec, job.device, card, job.trust)
        self.models[job.key] = model
        self.specs[job.key] = job.spec
        return model_info(job.key, model, job.spec)

    def _move(self, job: MoveModelJob, control: JobControl) -> ModelInfo:
        model = self.model(job.key)
        device = select_device(job.device)
        if model.device != device:
            model = moved_model(model, device)
            self.models[job.key] = model
        return model_info(job.key, self.models[job.key], self.specs.get(job.key, ""))

    def _source(self, image: ImageSource) -> torch.Tensor:
        """The full-resolution image of a file, pasted bytes or stored array (decoded once, cached)."""
        key = image.key
        if image.array is None and image.data is None:
            try:  # a file: the same path with other contents (or none) is another image
                stat = os.stat(image.spec)
                key = f"{key}|{stat.st_size}|{stat.st_mtime_ns}"
            except OSError:
                return load_image(image.spec)  # says why it cannot be read, in one line
        cached = self._sources.get(key)
        if cached is not None:
            self._sources.move_to_end(key)
            return cached
        if image.array is not None:
            source = torch.from_numpy(np.ascontiguousarray(image.array, np.float32))
        elif image.data is not None:
            source = load_image(image.data)
        else:
            source = load_image(image.spec)
        self._sources[key] = source
        while len(self._sources) > SOURCE_CACHE:
            self._sources.popitem(last=False)
        return source

    def input_image(self, image: ImageSource, resolution: int | None, resample_filter: str = "area",
                    fit: str = "auto", model: Model | None = None) -> torch.Tensor:
        """The input as the model will see it: a sample drawn natively, else the source fitted to the model
        (`model_input.input_fit`: its size and its own crop, as every command does), or only resampled
        while no model is loaded."""
        fitting = input_fit(model, resolution, resample_filter, fit) if model is not None else None
        size = fitting.size if fitting is not None else resolution
        if image.spec.startswith(SAMPLE_PREFIX) and image.array is None and image.data is None:
            return load_sample(image.spec[len(SAMPLE_PREFIX):], size)
        source = self._source(image)
        if fitting is not None:
            return fitting.apply(source)
        return resample(source, int(resolution), resample_filter) if resolution else source

    @staticmethod
    def _known_label(image: ImageSource, model: Model | None) -> int | None:
        """A bundled sample's class among the model's classes (None for a user's image, or for a model
        without that class: a star is no ImageNet class)."""
        if image.array is not None or image.data is not None:
            return None
        return default_label(image.spec, model.labels if model is not None else None)

    def _predict(self, job: PredictJob, control: JobControl) -> Prediction:
        model = self.models.get(job.model) if job.model else None
        image = self.input_image(job.image, job.resolution, job.resample_filter, job.fit, model)
        known = self._known_label(job.image, model)
        if model is None:  # no model yet: the image as read, to show (and to check it can be read)
            empty = np.zeros(0)
            return Prediction(image=_hwc(image), pred=None, conf=0.0, topk_index=empty.astype(np.int64),
                              topk_prob=empty, known_label=known)
        with torch.no_grad():
            logits = model.checked_logits(image[None].to(model.device))  # one clear error for a broken model
        pred, conf = (v[0] for v in prediction(logits))  # the logits' argmax, as the attack's criterion reads it
        probs = logits.softmax(dim=1)[0]
        top = probs.topk(min(job.top_k, probs.numel()))
        return Prediction(image=_hwc(image), pred=int(pred), conf=float(conf), topk_index=top.indices.cpu().numpy(),
                          topk_prob=top.values.cpu().numpy().astype(np.float64), known_label=known)

    def _attack(self, job_id: int, job: AttackRunJob, control: JobControl):
        self.send(JobStarted(job_id))  # the run is on the worker: a Stop from now on ends it within a step
        model = self.model(job.model)
        config = RunConfig.from_dict(job.config)
        image = self.input_image(job.image, config.resolution, config.resample_filter, config.fit, model)
        is_sample = job.image.array is None and job.image.data is None and job.image.spec.startswith(SAMPLE_PREFIX)
        label = self._known_label(job.image, model) if is_sample else job.label
        prepared = prepare_job(config, model=model, image=image, label=label)
        x = prepared.images
        shared = SharedTelemetry.create(batch=x.shape[0], image_shape=(x.shape[2], x.shape[3], x.shape[1]))
        with self._lock:
            self.segments[job_id] = shared
            while len(self.segments) > KEEP_SEGMENTS:
                self.segments.popitem(last=False)[1].close()
        telemetry = SharedRunTelemetry(shared, batch=x.shape[0], max_fps=self.settings.max_fps)
        pred, conf = (v[0] for v in prediction(prepared.clean_logits))
        self.send(JobStarted(job_id, shared.layout, AttackStart(
            original=_hwc(x[0]), labels=prepared.labels.tolist(), clean_pred=int(pred), clean_conf=float(conf),
            total_steps=planned_steps(prepared.config.attack), resolution=prepared.config.resolution,
            notes=list(prepared.notes))))
        try:
            return execute(prepared, telemetry, control)
        finally:
            telemetry.finish()

    def _analysis(self, job: AnalysisJob, control: JobControl) -> Any:
        from .analysis.requests import run_analysis

        model = self.model(job.model)
        others = {}
        for name in dict.fromkeys([*job.other_models, *job.loaded_models]):
            try:
                if name in job.loaded_models:
                    others[name] = self._loaded_model(job.loaded_models[name], model.device)
                else:
                    others[name] = self._transfer_model(job.other_models[name], str(model.device))
            except AdvLensError as exc:  # which model of the table could not be opened, and why
                raise AdvLensError(f"cannot open {name} for the transfer table: {exc}") from exc
        return run_analysis(job.request, model, others, progress=control,
                            executor=self.executor(getattr(job.request, "scheduler", "")))

    def executor(self, scheduler: str) -> Any:
        """The cluster executor a scheduler string names, started on first use and kept (a LocalCluster
        takes seconds to start); None for the engine's own pool."""
        from .executor import executor_for
        from .schedulers import parse_scheduler

        if not parse_scheduler(scheduler).uses_dask:
            return None
        with self._lock:
            if scheduler not in self._executors:
                self._executors[scheduler] = executor_for(scheduler)
            return self._executors[scheduler]

    def _diagnose(self, job: DiagnoseRunJob, control: JobControl) -> Any:
        from .diagnostics import DiagnosticsOptions, diagnose_record

        return diagnose_record(job.record, self.model(job.model), DiagnosticsOptions(seed=job.seed),
                               stop_flag(control))

    def _loaded_model(self, key: str, device: torch.device) -> Model:
        """A model loaded under `key` (with the person's trust or card), on the analysed model's device."""
        model = self.models.get(key)
        if model is None:
            raise AdvLensError("it is not loaded in the engine: add it again")
        return model if model.device == device else moved_model(model, device)

    def _transfer_model(self, spec: str, device: str) -> Model:
        key = (spec, device)
        if key not in self._transfer_models:
            self._transfer_models[key] = _load_model(spec, device, None, False)
        return self._transfer_models[key]

    def _lab(self, job: LabJob, control: JobControl) -> Any:
        if job.lab == "resolution":
            from .labs.resolution import ResolutionLabConfig, run_resolution_lab

            config = ResolutionLabConfig.from_dict(job.config)
            model = self.model(job.model) if job.model is not None else None
            if model is None:
                config = config.with_control_models()
            return run_resolution_lab(config.validated(), model, progress=control,
                                      executor=self.executor(job.scheduler))
        if job.lab == "stability":
            from .labs.stability import run_stability_lab
            from .labs.stability_config import config_from_options

            return run_stability_lab(config_from_options(job.config), progress=control,
                                     executor=self.executor(job.scheduler))
        raise AdvLensError(f"unknown lab '{job.lab}'")

    @staticmethod
    def _sleep(job: SleepJob, control: JobControl) -> float:
        deadline = time.monotonic() + job.seconds
        with control._cond:  # noqa: SLF001 - wait on the control's own condition: a cancel wakes it
            while not control.cancelled and time.monotonic() < deadline:
                control._cond.wait(timeout=max(deadline - time.monotonic(), 0.0))  # noqa: SLF001
        control.check()
        return job.seconds


def _pid() -> int:
    return os.getpid()


__all__ = ["EngineServer", "SharedRunTelemetry", "device_name", "error_info", "model_info", "moved_model"]
