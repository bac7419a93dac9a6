"""Run records: config + seed + versions + per-step metrics + images, saved as a folder and loaded back.

A folder holds `record.json` (everything but arrays), `arrays.npz` (exact float images and the per-step
metrics: (steps, images) each, the norms NaN on steps without a frame, see FORMAT_VERSION),
`metrics.csv` and PNGs of the original, adversarial and amplified perturbation for people and slides.
The folder is written beside its final place and swapped in with one atomic rename (files.write_folder),
so a crash never leaves half a record, nor no record where one was. A record read back is checked
against one schema (record_schema.py) before anything is built from it.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import platform
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .config import RunConfig
from .errors import ConfigError, first_error_line
from .files import check_folder, read_file, write_folder
from .images import save_png
from .metrics import METRIC_NAMES
from .record_schema import (
    FORMAT_VERSION,
    MAX_RECORD_JSON,
    RecordError,
    check_destination,
    check_record,
    read_record_arrays,
)

__all__ = ["FORMAT_VERSION", "RecordError", "RunRecord", "label_text", "library_versions", "number_text",
           "perturbation_visual"]


def number_text(value: object, spec: str, scale: float = 1.0) -> str:
    """A number formatted by `spec`; anything else (a tampered field) as its text, so describing never fails."""
    if isinstance(value, int | float | np.number) and not isinstance(value, bool):
        return format(float(value) * scale, spec)
    return str(value)


def label_text(names: list[str], index: object) -> str:
    """The class name at `index`, or the index as text when it names no class ('-' for none)."""
    if index is None:
        return "-"
    if isinstance(index, int | np.integer) and not isinstance(index, bool) and 0 <= index < len(names):
        return str(names[index])
    return str(index)


def _json_constant(name: str) -> float:
    """NaN and infinities as Python writes them (a metric can be NaN); the schema decides where they may be."""
    return float(name)


def library_versions() -> dict[str, str]:
    """The versions a record was made with (a copy: they cannot change within a process)."""
    return dict(_library_versions())


@functools.cache
def _library_versions() -> dict[str, str]:
    import PIL
    import torch

    from .. import __version__

    return {
        "advlens": __version__,
        "torch": str(torch.__version__),  # a TorchVersion would make a pickled record import torch
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
    model_notes: list[str] = field(default_factory=list)  # what the model's loader said (random weights + seed, ...)
    # the final adversarial's most probable classes per image (format 2): a saved run shows its bars
    # without the model
    adv_topk_index: list[list[int]] = field(default_factory=list)
    adv_topk_prob: list[list[float]] = field(default_factory=list)
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
        linf = self.norms["linf"][image]
        return (f"{verdict}: {label_text(names, clean)} ({number_text(self.clean_conf[image], '.1%')}) -> "
                f"{label_text(names, adv)} ({number_text(self.adv_conf[image], '.1%')}); "
                f"L2 {number_text(self.norms['l2'][image], '.4f')}, Linf {number_text(linf, '.4f')} "
                f"({number_text(linf, '.2f', scale=255)}/255)")

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
        names = [n for n in METRIC_NAMES if n in self.metrics] if self.metrics else list(METRIC_NAMES)
        writer.writerow(["step", "image", *names])  # a record from before a metric existed lacks its column
        for s in range(count):
            for i in range(images):
                writer.writerow([s, i, *(repr(float(self.metrics[n][s, i])) for n in names)])
        return buffer.getvalue()

    def write_into(self, folder: Path) -> None:
        """The record's files in an empty folder (record.json, arrays.npz, metrics.csv, PNGs)."""
        (folder / "record.json").write_text(json.dumps(self.to_json_dict(), indent=2) + "\n")
        arrays = {"original": self.original, "adversarial": self.adversarial}
        arrays.update({f"metric_{k}": v for k, v in self.metrics.items()})
        np.savez_compressed(folder / "arrays.npz", **arrays)
        (folder / "metrics.csv").write_text(self.metrics_csv())
        for i in range(self.original.shape[0]):
            suffix = "" if self.original.shape[0] == 1 else f"-{i}"
            save_png(self.original[i], folder / f"original{suffix}.png")
            save_png(self.adversarial[i], folder / f"adversarial{suffix}.png")
            save_png(perturbation_visual(self.perturbation[i]), folder / f"perturbation{suffix}.png")

    def save(self, folder: str | os.PathLike, force: bool = False) -> Path:
        """Write the record folder atomically: filled beside its place, swapped in with one rename.

        An existing record at `folder` is replaced (the old one stays until the new one is in place); a
        folder that is not a run record, or a file, is refused unless `force` (the CLI's --force). The
        current folder and the folders above it are never replaced. See files.write_folder.
        """
        folder = check_destination(folder, force)
        return write_folder(folder, self.write_into)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> RunRecord:
        """Read a record folder (or its record.json); anything wrong is one RecordError, never a traceback.

        record.json and arrays.npz are checked against the record schema (schema.check_record) before
        anything is built from them; the arrays' sizes are read from their headers before allocating.
        """
        folder = Path(folder)
        if folder.name == "record.json" and not folder.is_dir():
            folder = folder.parent
        check_folder(folder, "a run record folder", RecordError, label=f"{folder} is not a readable run record")
        if not os.path.lexists(folder / "record.json"):
            raise RecordError(f"{folder} is not a readable run record: it has no record.json")
        text = read_file(folder / "record.json", "a record.json", RecordError,
                         label=f"{folder} is not a readable run record: record.json", max_bytes=MAX_RECORD_JSON)
        try:
            data = json.loads(text.decode("utf-8"), parse_constant=_json_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise RecordError(f"{folder} is not a readable run record: record.json is not JSON "
                              f"({first_error_line(exc)})") from exc
        data = check_record(data, f"{folder} is not a readable run record")
        arrays = read_record_arrays(folder, data)
        data.pop("shape", None)
        try:
            data["config"] = RunConfig.from_dict(data["config"])
        except (ConfigError, TypeError, ValueError) as exc:
            raise RecordError(f"{folder} is not a readable run record: its config: {first_error_line(exc)}") from exc
        known = {f.name for f in fields(cls)}
        return cls(**arrays, **{k: v for k, v in data.items() if k in known})

    def same_as(self, other: RunRecord) -> bool:
        """Equal in every field and array (exactly)."""
        if self.to_json_dict() != other.to_json_dict():
            return False
        if not (np.array_equal(self.original, other.original) and np.array_equal(self.adversarial, other.adversarial)):
            return False
        if set(self.metrics) != set(other.metrics):
            return False
        return all(np.array_equal(self.metrics[k], other.metrics[k], equal_nan=True) for k in self.metrics)
