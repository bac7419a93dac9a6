"""The AdvLens engine: models, images, step-wise attacks, runs and records. torch + numpy only, never Qt."""

from __future__ import annotations

from .attacks import ATTACKS, Attack, AttackResult, AttackRun, Step, attack_names, attack_spec, make_attack
from .config import AttackConfig, RunConfig, parse_budget
from .criteria import Misclassification, TargetedMisclassification, make_criterion
from .device import available_devices, device_name, select_device
from .errors import (
    AdvLensError,
    AttackFailed,
    Cancelled,
    ConfigError,
    ImageLoadError,
    ModelCardMissing,
    ModelLoadError,
    ModelOutputError,
    UntrustedModelError,
)
from .executor import Executor, InProcessExecutor, SweepJob, SweepResult
from .images import load_image, resample, save_png
from .loaders import bundled_models, load_demo_model, load_model
from .model import Model, ModelCard
from .norms import clip_perturbation, lp_norm, project
from .record import RunRecord
from .runner import AttackRunner, RunEvent, RunHandle
from .samples import load_sample, resolve_image, sample_names
from .session import AttackJob, RunControl, execute, prepare_job, run_attack
from .telemetry import Telemetry

__all__ = [
    "ATTACKS", "AdvLensError", "Attack", "AttackConfig", "AttackFailed", "AttackJob", "AttackResult",
    "AttackRun", "AttackRunner", "Cancelled", "ConfigError", "Executor", "ImageLoadError",
    "InProcessExecutor", "Misclassification", "Model",
    "ModelCard", "ModelCardMissing", "ModelLoadError", "ModelOutputError", "RunConfig", "RunControl", "RunEvent", "RunHandle",
    "RunRecord", "Step", "SweepJob", "SweepResult", "TargetedMisclassification", "Telemetry",
    "UntrustedModelError", "attack_names", "attack_spec",
    "available_devices", "bundled_models", "clip_perturbation", "device_name", "execute", "load_demo_model",
    "load_image", "load_model", "load_sample", "lp_norm", "make_attack", "make_criterion", "parse_budget",
    "prepare_job", "project", "resample", "resolve_image", "run_attack", "sample_names", "save_png",
    "select_device",
]
