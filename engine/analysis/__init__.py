"""Analyses over sets of images: robust accuracy vs epsilon, minimal perturbations, loss landscape,
noise vs adversarial, transfer between models, frequency content of perturbations.

Names load on first use (PEP 562), so `advlens.engine.analysis.results` — the plain-data results the
GUI process unpickles — imports without torch.
"""

from __future__ import annotations

from ..lazy_exports import lazy_exports

_EXPORTS = {
    "frequency_comparison": "frequency", "laplacian_band_energy": "frequency", "radial_fft_energy": "frequency",
    "ANALYSES": "requests", "AnalysisRequest": "requests", "default_attack": "requests", "run_analysis": "requests",
    "adversarial_landscape": "landscape", "loss_landscape": "landscape",
    "noise_vs_adversarial": "noise", "noise_vs_attack": "noise",
    "minimal_perturbations": "sweep", "robust_accuracy_curve": "sweep",
    "transfer_table": "transfer",
    "Landscape": "results", "MinimalNorms": "results", "NoiseComparison": "results", "RobustCurve": "results",
    "TransferTable": "results",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
