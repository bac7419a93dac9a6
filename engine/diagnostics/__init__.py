"""Indicators of attack failure (Pintor et al., NeurIPS 2022): is this attack too weak to trust?

`indicators`, `trajectory`, `judge` and `labs` are torch-free (the GUI process uses them on live
telemetry and on dicts from the engine); `probes`, `trace` and `runs` need torch and the model. Names are
imported on first use, so `import advlens.engine.diagnostics` pulls in no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "Fix": "indicators", "ImageDiagnosis": "indicators", "Indicator": "indicators", "INDICATORS": "indicators",
    "Level": "indicators", "RunDiagnosis": "indicators", "count_images": "indicators",
    "indicator_title": "indicators",
    "trajectory_indicators": "trajectory",
    "diagnose": "judge",
    "DiagnosticsOptions": "probes", "ProbeResults": "probes", "run_probes": "probes",
    "diagnose_arrays": "runs", "diagnose_record": "runs", "diagnose_set": "runs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'advlens.engine.diagnostics' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
