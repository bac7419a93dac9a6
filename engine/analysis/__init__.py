"""Analyses over sets of images: robust accuracy vs epsilon, minimal perturbations, loss landscape,
noise vs adversarial, transfer between models, frequency content of perturbations."""

from .frequency import frequency_comparison, laplacian_band_energy, radial_fft_energy
from .landscape import Landscape, adversarial_landscape, loss_landscape
from .noise import NoiseComparison, noise_vs_adversarial, noise_vs_attack
from .requests import ANALYSES, AnalysisRequest, default_attack, run_analysis
from .sweep import MinimalNorms, RobustCurve, minimal_perturbations, robust_accuracy_curve
from .transfer import TransferTable, transfer_table

__all__ = ["ANALYSES", "AnalysisRequest", "Landscape", "MinimalNorms", "NoiseComparison", "RobustCurve",
           "TransferTable", "adversarial_landscape", "default_attack", "frequency_comparison",
           "laplacian_band_energy", "loss_landscape", "minimal_perturbations", "noise_vs_adversarial",
           "noise_vs_attack", "radial_fft_energy", "robust_accuracy_curve", "run_analysis", "transfer_table"]
