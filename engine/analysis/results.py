"""What the analyses find, as plain data (numpy and Python values only, no torch).

The analyses run in the engine process; their results cross to the GUI process pickled, so their
classes live here, where importing them loads no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RobustCurve:
    """Robust accuracy per epsilon: an image counts as robust at eps if no attack at any eps' <= eps fooled it."""

    eps: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    clean_accuracy: float = 0.0
    images: int = 0
    attack: str = ""
    norm: str = ""
    # per epsilon (same order): {"eps", "counts": indicator -> images that triggered it, "fired": [indicators]}
    diagnostics: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class MinimalNorms:
    """The smallest perturbation a minimal-norm attack found, per correctly classified image."""

    norm: str
    attack: str
    norms: list[float]  # NaN where the attack found nothing
    success: list[bool]
    skipped: int  # misclassified before any attack

    def found(self) -> np.ndarray:
        values = np.asarray(self.norms, dtype=float)
        return values[np.isfinite(values)]

    def median(self) -> float:
        found = self.found()
        return float(np.median(found)) if len(found) else float("nan")

    def to_dict(self) -> dict:
        return dict(vars(self)) | {"median": self.median()}


@dataclass
class Landscape:
    alphas: np.ndarray  # steps along the adversarial direction (in units of `radius`)
    betas: np.ndarray  # steps along the random orthogonal direction
    loss: np.ndarray  # (len(betas), len(alphas)) cross-entropy of the label
    prediction: np.ndarray  # (len(betas), len(alphas)) predicted class index
    radius: float
    norm: str
    label: int
    adversarial_point: tuple[float, float]  # (alpha, beta) of the adversarial example, if given

    def centre(self) -> tuple[int, int]:
        return int(np.argmin(np.abs(self.betas))), int(np.argmin(np.abs(self.alphas)))

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in vars(self).items()}


@dataclass
class NoiseComparison:
    images: int
    adversarial_fooled: float  # share of images the attack fooled
    gaussian_fooled: float  # share fooled by Gaussian noise of the same L2 norm (any of `trials` draws)
    uniform_fooled: float  # share fooled by uniform noise of the same Linf norm (any of `trials` draws)
    trials: int

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class TransferTable:
    models: list[str]
    success: list[list[float]]  # success[source][target]: share of source's adversarials that fool target
    images: int
    # transfer_failures[source][target]: images whose adversarial fooled the source (the surrogate) but not the
    # target (Pintor et al.'s transfer failure: the target's robustness to it says little about the target)
    transfer_failures: list[list[int]] = field(default_factory=list)
    diagnostics: list[dict] = field(default_factory=list)  # one "transfer_failure" indicator per pair

    def to_dict(self) -> dict:
        return dict(vars(self))
