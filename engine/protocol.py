"""The command channel between the GUI process and the engine process: plain-data jobs, requests, events.

Design note. Everything that crosses the boundary is a small dataclass of plain values (str, int,
float, dict, list, numpy arrays, and the engine's torch-free records), so it pickles cheaply and
either side can be replaced (a test drives the engine with no GUI). torch-free and Qt-free.

- Jobs say what to compute: load or move a model, predict an image, run an attack, an analysis, a
  lab. Each runs on a lane in the engine (one worker per lane, napari-slicer style: a new job on a
  lane supersedes the one before it): 'models' loads, 'explorer' predicts and attacks, the tabs
  have one each, so an analysis may run beside the Explorer's attack and a prediction never
  cancels a model that is still loading.
- Requests (GUI -> engine): start a job, control one (pause, resume, step, cancel), release a
  finished run's shared memory, shut down.
- Events (engine -> GUI): hello (the process is up), ready (torch loaded: what the engine offers),
  heartbeats, and each job's start (with its shared-memory telemetry layout), progress (the newest
  partial result, at most a few times a second) and end (result or one-line error).
Per-step scalars and frames never travel here: they go through shared memory (`shared_telemetry`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .shared_telemetry import TelemetryLayout

LANES = ("models", "side-models", "explorer", "diagnostics", "analysis", "resolution", "stability")
CONTROL_ACTIONS = ("pause", "resume", "step", "cancel")


@dataclass(frozen=True)
class EngineSettings:
    """How the engine process runs: torch threads (None: all cores but one, at least one), device."""

    threads: int | None = None
    device: str = "auto"
    heartbeat_s: float = 0.5
    progress_hz: float = 10.0
    max_fps: float = 60.0


# ---------------------------------------------------------------------- what the engine says about itself
@dataclass
class ModelInfo:
    """A loaded model as the GUI sees it: names, labels and preprocessing, never the network."""

    key: str
    name: str
    display_name: str
    kind: str
    labels: list[str]
    mean: list[float]
    std: list[float]
    input_size: int | None
    gradients_available: bool
    device: str
    notes: list[str] = field(default_factory=list)
    card: dict = field(default_factory=dict)
    spec: str = ""  # what it was loaded from (a bundled name, a file, torchvision:NAME)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def input_channels(self) -> int:
        return len(self.mean)

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else f"class {index}"

    @property
    def caveat(self) -> str:
        """'random weights' (or 'constant outputs') when the loader's notes say so: the model box and banner."""
        return caveat_of(self.notes)


def caveat_of(notes: list[str]) -> str:
    """The few words a screen must show about a model whose predictions mean nothing: its loader's notes
    (a ModelInfo's, or a saved record's model_notes) say RANDOM weights, or outputs that never change."""
    words = [word for word, key in (("random weights", "RANDOM weights"), ("constant outputs", "outputs are constant"),
                                    ("nearly constant outputs", "outputs are nearly constant"))
             if any(key in note for note in notes)]
    return ", ".join(words)


@dataclass
class EngineInfo:
    """Sent once torch is loaded: what this engine can do."""

    pid: int
    torch_version: str
    threads: int
    devices: list[str]
    bundled_models: list[tuple[str, str]]  # (name, title), in menu order
    control_models: list[str]  # bundled models trained at one size only (not transfer targets)
    model_suffixes: list[str]
    label_presets: dict[str, list[str]] = field(default_factory=dict)
    startup_s: float = 0.0  # from the process's start to ready (wall clock)
    startup_cpu_s: float = 0.0  # the CPU time that took (the same on a busy machine as on a quiet one)
    allocator: str = ""  # the malloc settings torch runs with (allocator.tune_for_torch)


@dataclass
class ErrorInfo:
    """A job's failure: the error's type name, its one-line message and what a dialog needs."""

    type: str
    message: str
    details: dict = field(default_factory=dict)


# ---------------------------------------------------------------------- jobs
@dataclass
class ImageSource:
    """Where the input image comes from: a bundled sample, a file, pasted bytes or a stored array."""

    spec: str = ""  # 'sample:NAME' or a file path ('' with data or array)
    data: bytes | None = None  # an encoded image (pasted)
    array: np.ndarray | None = None  # (C, H, W) float32 in [0, 1], e.g. the input a record stored
    name: str = ""  # what to call it ('pasted image')

    @property
    def key(self) -> str:
        """The same in both processes (content hashes, not Python's salted `hash`)."""
        if self.data is not None:
            return "bytes:" + hashlib.sha1(self.data).hexdigest()
        if self.array is not None:
            return f"array:{self.array.shape}:" + hashlib.sha1(np.ascontiguousarray(self.array).tobytes()).hexdigest()
        return self.spec


@dataclass
class LoadModelJob:
    """Load a model under `key` (the GUI's current model is 'explorer'); result: ModelInfo."""

    key: str
    spec: str
    device: str = "auto"
    trust: bool = False
    card: dict | None = None


@dataclass
class MoveModelJob:
    """Put model `key` on another device (a copy: a job still running keeps the old one); ModelInfo."""

    key: str
    device: str


@dataclass
class PredictJob:
    """The input at a resolution and the model's clean prediction of it ('' model: the image only)."""

    model: str
    image: ImageSource
    resolution: int | None
    resample_filter: str = "area"
    top_k: int = 5
    fit: str = "auto"  # how a photo meets the model's size (model_input.input_fit): auto, crop, squash, pad


@dataclass
class Prediction:
    image: np.ndarray  # (H, W, C) float32, as the model sees it
    pred: int | None  # None when no model was loaded: the image only
    conf: float
    topk_index: np.ndarray
    topk_prob: np.ndarray
    known_label: int | None  # the true class of a bundled sample, None for a user's image


@dataclass
class AttackRunJob:
    """One Explorer run: a RunConfig (as a dict), the image and the label to move away from."""

    model: str
    config: dict
    image: ImageSource
    label: int | None = None


@dataclass
class AttackStart:
    """What a run's start tells the GUI besides the telemetry layout."""

    original: np.ndarray  # (H, W, C) float32: image 0 as attacked
    labels: list[int]
    clean_pred: int
    clean_conf: float
    total_steps: int
    resolution: int | None
    notes: list[str] = field(default_factory=list)


@dataclass
class AnalysisJob:
    """One of the Analysis tab's analyses: the request (plain data, `analysis.requests`), the key of the
    engine's model it analyses, and the other models of a transfer table: by spec (loaded for the table),
    or by the key of a model loaded already (a file added in the Analysis tab went through the same
    trust and card answers as the Explorer's, which a load by spec alone would refuse again)."""

    request: Any  # AnalysisRequest
    model: str
    other_models: dict[str, str] = field(default_factory=dict)  # the request's other model names -> specs
    loaded_models: dict[str, str] = field(default_factory=dict)  # other model names -> keys of loaded models


@dataclass
class LabJob:
    """A lab run: 'resolution' (config: ResolutionLabConfig fields) or 'stability' (the panel's options)."""

    lab: str
    config: dict
    model: str | None = None  # the Resolution lab's model key; None: the per-resolution control models
    scheduler: str = ""  # where the lab's jobs run: '' the engine's pool, 'local:N' or tcp://HOST:PORT


@dataclass
class DiagnoseRunJob:
    """The probes of a finished run (gradients, noise, a DeepFool cross-check) on the model it attacked.

    The record is the one the run's JobEnded carried (plain data); the result is a `RunDiagnosis`."""

    model: str
    record: Any
    seed: int = 0


@dataclass
class SleepJob:
    """Hold a lane for `seconds` or until cancelled (tests and the bench use it to occupy the engine)."""

    seconds: float


# ---------------------------------------------------------------------- requests (GUI -> engine)
@dataclass
class StartJob:
    job_id: int
    lane: str
    job: Any
    paused: bool = False


@dataclass
class ControlJob:
    job_id: int
    action: str  # pause | resume | step | cancel
    count: int = 1


@dataclass
class ReleaseJob:
    """The GUI has read what it needs of a finished run: its shared memory may go."""

    job_id: int


@dataclass
class Shutdown:
    pass


# ---------------------------------------------------------------------- events (engine -> GUI)
@dataclass
class Hello:
    pid: int


@dataclass
class Ready:
    info: EngineInfo


@dataclass
class Heartbeat:
    at: float


@dataclass
class JobStarted:
    job_id: int
    telemetry: TelemetryLayout | None = None
    info: Any = None  # AttackStart for a run


@dataclass
class JobControlled:
    """The engine applied a control (a job asked to stop stops within the step under way from here)."""

    job_id: int
    action: str


@dataclass
class JobProgress:
    job_id: int
    version: int
    done: int
    total: int
    eta_s: float | None
    partial: Any = None


@dataclass
class JobEnded:
    job_id: int
    kind: str  # finished | cancelled | failed
    result: Any = None
    message: str = ""
    error: ErrorInfo | None = None
    elapsed_s: float = 0.0


@dataclass
class EngineLog:
    message: str
