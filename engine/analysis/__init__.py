"""Analyses over sets of images: robust accuracy vs epsilon, minimal perturbations, loss landscape,
noise vs adversarial, transfer between models, frequency content of perturbations."""

from .frequency import frequency_comparison, laplacian_band_energy, radial_fft_energy
from .imagesets import ImageSet, demo_image_set, folder_image_set
from .landscape import Landscape, adversarial_landscape, loss_landscape
from .noise import NoiseComparison, noise_vs_adversarial, noise_vs_attack
from .sweep import MinimalNorms, RobustCurve, minimal_perturbations, robust_accuracy_curve
from .transfer import TransferTable, transfer_table

__all__ = ["ImageSet", "Landscape", "MinimalNorms", "NoiseComparison", "RobustCurve", "TransferTable",
           "adversarial_landscape", "frequency_comparison", "noise_vs_attack", "demo_image_set", "folder_image_set", "laplacian_band_energy", "loss_landscape",
           "minimal_perturbations", "noise_vs_adversarial", "radial_fft_energy",
           "robust_accuracy_curve", "transfer_table"]
