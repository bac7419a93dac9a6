"""Sets of images as plain data, one source for every sweep, analysis and lab.

An `ImageSource` is what a person writes — `demo:N` (held-out demo scenes), `sample:NAME`, a folder,
or a list file (`.txt`, one image path per line, relative to the list) — and draws the set at any
size: demo scenes and samples are rendered natively at that size (the same scene at every size),
files are read once and area-resampled. Being plain data, a source travels in a job to the engine
process or a cluster worker; `ImageSet` is a set drawn at one size, with the labels known for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .demo.shapes import eval_seeds, render_batch
from .errors import ConfigError, ImageLoadError
from .images import list_image_files, load_image, resample
from .model import Model
from .model_input import InputFit
from .samples import SAMPLE_PREFIX, load_sample, sample_label

DEMO_PREFIX = "demo:"
LIST_SUFFIXES = (".txt", ".lst")
MAX_IMAGES = 100_000


@dataclass
class ImageSet:
    """Images (N, C, H, W) in [0, 1], their labels (None: use the model's clean predictions) and names."""

    images: torch.Tensor
    labels: torch.Tensor | None
    names: list[str]
    source: str
    skipped: list[str] = field(default_factory=list)  # files that could not be read

    def labels_for(self, model: Model, batch: int = 64) -> torch.Tensor:
        if self.labels is not None:
            return self.labels
        preds = []
        with torch.no_grad():
            for i in range(0, len(self.images), batch):
                preds.append(model(self.images[i : i + batch].to(model.device)).argmax(1).cpu())
        return torch.cat(preds)

    @property
    def labelled(self) -> bool:
        """Whether the true classes are known (else an attack moves the model off its own prediction)."""
        return self.labels is not None


@dataclass(frozen=True)
class ImageSource:
    """An image set described by its spec; `offset` picks which held-out demo scenes `demo:N` means."""

    spec: str
    limit: int | None = None  # at most this many files from a folder or list
    offset: int = 0  # first held-out demo scene

    def kind(self) -> str:
        """'demo', 'sample', 'list' or 'folder' (ConfigError for anything else)."""
        if self.spec.startswith(DEMO_PREFIX):
            return "demo"
        if self.spec.startswith(SAMPLE_PREFIX):
            return "sample"
        path = Path(self.spec)
        if path.is_dir():
            return "folder"
        if path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            return "list"
        raise ConfigError(f"images must be demo:N, sample:NAME, a folder or a list file (.txt); "
                          f"'{self.spec}' is none of these")

    def demo_seeds(self) -> list[int]:
        try:
            count = int(self.spec[len(DEMO_PREFIX):])
        except ValueError as exc:
            raise ConfigError(f"expected demo:N, got '{self.spec}'") from exc
        if not 1 <= count <= MAX_IMAGES:
            raise ConfigError(f"demo:N takes 1 to {MAX_IMAGES} scenes, got {count}")
        return eval_seeds(count, self.offset)

    def files(self) -> list[Path]:
        """The image files of a folder or list source, in order (at most `limit`)."""
        kind = self.kind()
        if kind == "folder":
            files = list_image_files(self.spec)
        elif kind == "list":
            base = Path(self.spec).parent
            try:
                lines = Path(self.spec).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read the list {self.spec}: {exc}") from exc
            files = [base / line.strip() for line in lines if line.strip() and not line.startswith("#")]
        else:
            return []
        return files[: self.limit] if self.limit is not None else files

    def load(self, size: int, filter: str = "area", fitting: InputFit | None = None) -> ImageSet:
        """The set drawn at size x size: natively for demo scenes and samples, resampled for files
        (fitted as `fitting` says, for a model's own crop, when given)."""
        kind = self.kind()
        if kind == "demo":
            seeds = self.demo_seeds()
            images, labels = render_batch(seeds, size)
            return ImageSet(torch.from_numpy(images), torch.from_numpy(labels),
                            [f"demo:{self.offset + i}" for i in range(len(seeds))], self.spec)
        if kind == "sample":
            name = self.spec[len(SAMPLE_PREFIX):]
            return ImageSet(load_sample(name, size)[None], torch.tensor([sample_label(name)]), [self.spec], self.spec)
        originals, names, skipped = self.originals()
        fitted = [fitting.apply(im) if fitting is not None and fitting.size == size else resample(im, size, filter)
                  for im in originals]
        return ImageSet(torch.stack(fitted), None, names, self.spec, skipped)

    def originals(self) -> tuple[list[torch.Tensor], list[str], list[str]]:
        """(images at their own size, names, unreadable files) of a folder or list source."""
        images, names, skipped = [], [], []
        for path in self.files():
            try:
                images.append(load_image(path))
                names.append(path.name)
            except ImageLoadError:
                skipped.append(path.name)
        if not images:
            raise ConfigError(f"no readable images in {self.spec}")
        return images, names, skipped


def parse_image_source(spec: str, limit: int | None = None, offset: int = 0) -> ImageSource:
    """The source for a spec, checked now (a bad spec is one line before any work starts)."""
    source = ImageSource(str(spec), limit, offset)
    if source.kind() == "demo":
        source.demo_seeds()
    return source


def load_image_set(spec: str, size: int, limit: int | None = None, offset: int = 0) -> ImageSet:
    """`parse_image_source(spec, limit, offset).load(size)` in one call."""
    return parse_image_source(spec, limit, offset).load(size)


def as_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()
