"""Bundled sample images: one procedural scene per demo class, drawable natively at any resolution.

`sample:star` renders the star scene directly at the requested resolution (no resampling), so the
same sample is the same scene at 16 px and at 512 px. Importing this module does not import torch. PNG copies at 256 px ship in resources/samples
for the file dialogs and the gallery.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

from .demo.shapes import CLASSES, random_scene, render_array
from .errors import ConfigError
from .images import load_image, resample

SAMPLE_PREFIX = "sample:"
SAMPLE_SEED_BASE = 2_000_000_000
DEFAULT_SAMPLE_SIZE = 256


def sample_names() -> list[str]:
    return list(CLASSES)


def sample_seed(name: str) -> int:
    if name not in CLASSES:
        raise ConfigError(f"no sample '{name}': choose one of {', '.join(CLASSES)}")
    return SAMPLE_SEED_BASE + CLASSES.index(name)


def sample_array(name: str, resolution: int | None = None) -> np.ndarray:
    """The sample scene rendered natively at `resolution` (default 256) as (H, W, 3) float32 in [0, 1].

    numpy and Pillow only: the GUI process draws the sample before the engine process is ready.
    """
    size = resolution or DEFAULT_SAMPLE_SIZE
    return render_array(random_scene(sample_seed(name), label=CLASSES.index(name)), size)


def load_sample(name: str, resolution: int | None = None) -> torch.Tensor:
    """The sample scene rendered natively at `resolution` (default 256) as (3, H, W) in [0, 1]."""
    import torch

    return torch.from_numpy(sample_array(name, resolution).transpose(2, 0, 1).copy())


def sample_label(name: str) -> int:
    sample_seed(name)
    return CLASSES.index(name)


def samples_dir() -> Path:
    from .. import resources

    return Path(resources.__file__).resolve().parent / "samples"


def resolve_image(spec: str | os.PathLike, resolution: int | None = None, filter: str = "area") -> torch.Tensor:
    """An image from 'sample:NAME' (rendered natively) or a file path (resampled if asked)."""
    text = str(spec)
    if text.startswith(SAMPLE_PREFIX):
        return load_sample(text[len(SAMPLE_PREFIX):], resolution)
    image = load_image(spec)
    return resample(image, resolution, filter) if resolution else image
