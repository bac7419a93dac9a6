"""Indicators of attack failure (Pintor et al., NeurIPS 2022): is this attack too weak to trust?

`indicators`, `trajectory`, `judge` and `labs` are torch-free (the GUI process uses them on live
telemetry and on dicts from the engine); `probes`, `trace` and `runs` need torch and the model. Names are
imported on first use, so `import advlens.engine.diagnostics` pulls in no torch.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_EXPORTS: dict[str, str] = {
    "Fix": "indicators", "ImageDiagnosis": "indicators", "Indicator": "indicators", "INDICATORS": "indicators",
    "Level": "indicators", "RunDiagnosis": "indicators", "count_images": "indicators",
    "indicator_title": "indicators",
    "trajectory_indicators": "trajectory",
    "diagnose": "judge",
    "DiagnosticsOptions": "options", "ProbeResults": "probes", "run_probes": "probes",
    "diagnose_arrays": "runs", "diagnose_record": "runs", "diagnose_set": "runs",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
