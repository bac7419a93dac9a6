"""The AdvLens engine: models, images, step-wise attacks, runs and records. torch + numpy only, never Qt.

Names are imported on first use (PEP 562), so `import advlens.engine.config` or `advlens.engine.units`
does not pull in torch: the GUI process uses the torch-free base layer (errors, units, config,
catalogue, metrics) and leaves torch to the engine process.
"""

from __future__ import annotations

from .lazy_exports import lazy_exports

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
