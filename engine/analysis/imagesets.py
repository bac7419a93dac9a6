"""Sets of images with labels for the analyses: held-out demo scenes, or a folder of files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..demo.shapes import eval_seeds, render_batch
from ..errors import ConfigError, ImageLoadError
from ..images import IMAGE_SUFFIXES, load_image, resample
from ..model import Model


@dataclass
class ImageSet:
    """Images (N, C, H, W) in [0, 1], their labels (None: use the model's clean predictions) and names."""

    images: torch.Tensor
    labels: torch.Tensor | None
    names: list[str]
    source: str

    def labels_for(self, model: Model, batch: int = 64) -> torch.Tensor:
        if self.labels is not None:
            return self.labels
        preds = []
        with torch.no_grad():
            for i in range(0, len(self.images), batch):
                preds.append(model(self.images[i : i + batch].to(model.device)).argmax(1).cpu())
        return torch.cat(preds)


def demo_image_set(count: int, size: int, offset: int = 0) -> ImageSet:
    """`count` held-out demo scenes (never seen in training) drawn natively at `size`."""
    if count < 1:
        raise ConfigError(f"need at least one image, got {count}")
    images, labels = render_batch(eval_seeds(count, offset), size)
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels),
                    [f"demo:{offset + i}" for i in range(count)], f"demo:{count}")


def folder_image_set(folder: str | Path, size: int, limit: int | None = None, filter: str = "area") -> ImageSet:
    """Every readable image in a folder, resampled to size x size; unreadable files are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:limit]
    images, names = [], []
    for path in files:
        try:
            images.append(resample(load_image(path), size, filter))
            names.append(path.name)
        except ImageLoadError:
            continue
    if not images:
        raise ConfigError(f"no readable images in {folder}")
    return ImageSet(torch.stack(images), None, names, str(folder))


def parse_image_set(spec: str, size: int, limit: int | None = None) -> ImageSet:
    """'demo:N' or a folder path."""
    if spec.startswith("demo:"):
        try:
            count = int(spec.split(":", 1)[1])
        except ValueError as exc:
            raise ConfigError(f"expected demo:N, got '{spec}'") from exc
        return demo_image_set(count, size)
    return folder_image_set(spec, size, limit)


def as_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()
