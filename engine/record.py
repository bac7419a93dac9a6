"""Run records: config + seed + versions + per-step metrics + images, saved as a folder and loaded back.

A folder holds `record.json` (everything but arrays), `arrays.npz` (exact float images and the per-step
metrics: (steps, images) each, the norms NaN on steps without a frame, see FORMAT_VERSION),
`metrics.csv` and PNGs of the original, adversarial and amplified perturbation for people and slides.
The folder is written beside its final place and renamed in, so a crash never leaves half a record.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .config import RunConfig
from .errors import AdvLensError
from .images import save_png
from .metrics import METRIC_NAMES

# 2: the norms (l0, l2, linf) per step are taken on the steps that had a frame (the telemetry's rate, and
# the last step) and are NaN on the others; every other metric is kept for every step, as in 1.
FORMAT_VERSION = 2


class RecordError(AdvLensError):
    """A run record folder is missing, incomplete or not a run record."""


def library_versions() -> dict[str, str]:
    import PIL
    import torch

    from .. import __version__

    return {
        "advlens": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "python": platform.python_version(),
    }


def perturbation_visual(delta: np.ndarray) -> np.ndarray:
    """(3, H, W) perturbation amplified into [0, 1] around grey 0.5, for a PNG people can see."""
    peak = float(np.abs(delta).max())
    if peak == 0:
        return np.full_like(delta, 0.5)
    return np.clip(0.5 + delta / (2 * peak), 0, 1)


@dataclass
class RunRecord:
    config: RunConfig
    model_name: str
    class_names: list[str]
    device: str
    labels: list[int]
    clean_pred: list[int]
    clean_conf: list[float]
    adv_pred: list[int]
    adv_conf: list[float]
    success: list[bool]
    norms: dict[str, list[float]]
    status: str  # finished | cancelled
    steps_run: int
    duration_s: float
    original: np.ndarray  # (N, C, H, W) float32
    adversarial: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (steps, N)
    versions: dict[str, str] = field(default_factory=library_versions)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    format_version: int = FORMAT_VERSION

    @property
    def perturbation(self) -> np.ndarray:
        return self.adversarial - self.original

    @property
    def seed(self) -> int:
        return self.config.attack.seed

    def summary_line(self, image: int = 0) -> str:
        names = self.class_names
        clean, adv = self.clean_pred[image], self.adv_pred[image]
        verdict = "SUCCESS" if self.success[image] else "failed"
        return (f"{verdict}: {names[clean]} ({self.clean_conf[image]:.1%}) -> {names[adv]} "
                f"({self.adv_conf[image]:.1%}); L2 {self.norms['l2'][image]:.4f}, "
                f"Linf {self.norms['linf'][image]:.4f} ({self.norms['linf'][image] * 255:.2f}/255)")

    def to_json_dict(self) -> dict:
        """Everything but the arrays, as JSON-ready data (the CLI's --json prints this)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("original", "adversarial", "metrics")}
        data["config"] = self.config.to_dict()
        data["shape"] = list(self.original.shape)
        return data

    def metrics_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        count = next(iter(self.metrics.values())).shape[0] if self.metrics else 0
        images = self.original.shape[0]
        writer.writerow(["step", "image", *METRIC_NAMES])
        for s in range(count):
            for i in range(images):
                writer.writerow([s, i, *(repr(float(self.metrics[n][s, i])) for n in METRIC_NAMES)])
        return buffer.getvalue()

    def save(self, folder: str | os.PathLike) -> Path:
        """Write the record folder atomically (temp folder, then rename over any old one)."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
        try:
            (tmp / "record.json").write_text(json.dumps(self.to_json_dict(), indent=2) + "\n")
            arrays = {"original": self.original, "adversarial": self.adversarial}
            arrays.update({f"metric_{k}": v for k, v in self.metrics.items()})
            np.savez_compressed(tmp / "arrays.npz", **arrays)
            (tmp / "metrics.csv").write_text(self.metrics_csv())
            for i in range(self.original.shape[0]):
                suffix = "" if self.original.shape[0] == 1 else f"-{i}"
                save_png(self.original[i], tmp / f"original{suffix}.png")
                save_png(self.adversarial[i], tmp / f"adversarial{suffix}.png")
                save_png(perturbation_visual(self.perturbation[i]), tmp / f"perturbation{suffix}.png")
            os.chmod(tmp, 0o755)
            old = None
            if folder.exists():
                old = folder.with_name(f".{folder.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(folder, old)
            os.replace(tmp, folder)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> RunRecord:
        """Read a record folder (or its record.json); anything wrong is one RecordError, never a traceback."""
        folder = Path(folder)
        if folder.name == "record.json" and folder.is_file():
            folder = folder.parent
        if not folder.exists():
            raise RecordError(f"{folder} is not a readable run record: no such folder")
        if not (folder / "record.json").is_file():
            raise RecordError(f"{folder} is not a readable run record: it has no record.json")
        try:
            data = json.loads((folder / "record.json").read_text())
            with np.load(folder / "arrays.npz", allow_pickle=False) as arrays:
                original = arrays["original"]
                adversarial = arrays["adversarial"]
                metrics = {k[len("metric_"):]: arrays[k] for k in arrays.files if k.startswith("metric_")}
            data.pop("shape", None)
            data["config"] = RunConfig.from_dict(data["config"])
            known = {f.name for f in fields(cls)}
            return cls(original=original, adversarial=adversarial, metrics=metrics,
                       **{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile) as exc:
            raise RecordError(f"{folder} is not a readable run record: {exc}") from exc

    def same_as(self, other: RunRecord) -> bool:
        """Equal in every field and array (exactly)."""
        if self.to_json_dict() != other.to_json_dict():
            return False
        if not (np.array_equal(self.original, other.original) and np.array_equal(self.adversarial, other.adversarial)):
            return False
        if set(self.metrics) != set(other.metrics):
            return False
        return all(np.array_equal(self.metrics[k], other.metrics[k], equal_nan=True) for k in self.metrics)
