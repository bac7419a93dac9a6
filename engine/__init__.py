"""The AdvLens engine: models, images, step-wise attacks, runs and records. torch + numpy only, never Qt.

Names are imported on first use (PEP 562), so `import advlens.engine.config` or `advlens.engine.units`
does not pull in torch: the GUI process uses the torch-free base layer (errors, units, config,
catalogue, metrics) and leaves torch to the engine process.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # torch-free base layer
    "AdvLensError": "errors", "AttackFailed": "errors", "Cancelled": "errors", "ConfigError": "errors",
    "ImageLoadError": "errors", "ModelCardMissing": "errors", "ModelLoadError": "errors",
    "ModelOutputError": "errors", "UntrustedModelError": "errors",
    "AttackConfig": "config", "RunConfig": "config",
    "parse_budget": "units",
    "AttackSpec": "catalogue", "attack_names": "catalogue", "attack_spec": "catalogue",
    # torch
    "ATTACKS": "attacks", "Attack": "attacks", "AttackResult": "attacks", "AttackRun": "attacks", "Step": "attacks",
    "make_attack": "attacks",
    "Misclassification": "criteria", "TargetedMisclassification": "criteria", "make_criterion": "criteria",
    "available_devices": "device", "device_name": "device", "select_device": "device",
    "Executor": "executor", "InProcessExecutor": "executor", "SweepJob": "executor", "SweepResult": "executor",
    "load_image": "images", "resample": "images", "save_png": "images",
    "Model": "model", "ModelCard": "model", "bundled_models": "loaders", "load_demo_model": "loaders",
    "load_model": "loaders",
    "clip_perturbation": "norms", "lp_norm": "norms", "project": "norms",
    "RunRecord": "record",
    "JobControl": "jobs", "JobHandle": "jobs", "JobOutcome": "jobs", "JobWorker": "jobs", "Progress": "jobs",
    "load_sample": "samples", "resolve_image": "samples", "sample_names": "samples",
    "AttackJob": "session", "execute": "session", "submit_attack": "session", "prepare_job": "session",
    "run_attack": "session",
    "Telemetry": "telemetry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'advlens.engine' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
