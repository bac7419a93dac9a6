"""A runs folder as a history: one summary line per record, newest first.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..files import read_file
from ..record import RecordError
from ..record_schema import MAX_RECORD_JSON, check_record
from .text import budget_text, class_name, is_minimal_attack, local_time


# ---------------------------------------------------------------------------------------------- listing
@dataclass
class RunSummary:
    """One record folder, read from its record.json only (listing never loads the arrays)."""

    path: Path
    created: str = ""
    model: str = ""
    image: str = ""
    attack: str = ""
    norm: str = ""
    budget: str = ""
    steps: int = 0
    seed: int = 0
    resolution: int | None = None
    status: str = ""
    success: bool | None = None
    clean: str = ""
    adversarial: str = ""
    l2: float = float("nan")
    linf: float = float("nan")
    error: str = ""  # why the record could not be read; the other fields are then empty

    def line(self) -> str:
        """One line for `advlens runs list` and the GUI's run choosers."""
        if self.error:
            return f"{'?':19s}  (unreadable: {self.error})  {self.path}"
        verdict = "SUCCESS" if self.success else ("stopped" if self.status == "cancelled" else "failed ")
        res = f"{self.resolution}px" if self.resolution else "native"
        return (f"{local_time(self.created):19s}  {verdict}  {self.attack} {self.norm} eps={self.budget} "
                f"steps={self.steps} seed={self.seed}  {self.model}  {self.image} {res}  "
                f"{self.clean} -> {self.adversarial}  L2 {self.l2:.4f}  Linf {self.linf * 255:.2f}/255  {self.path}")

    def to_dict(self) -> dict:
        """JSON-ready: the path as text, unknown norms as null."""
        data = dict(vars(self))
        data["path"] = str(self.path)
        for key in ("l2", "linf"):
            data[key] = data[key] if math.isfinite(data[key]) else None
        return data


def summarize_record(folder: str | os.PathLike) -> RunSummary:
    """The summary of one folder; an unreadable record gets `error` set instead of raising."""
    folder = Path(folder)
    try:
        data = check_record(json.loads(read_file(folder / "record.json", "a record.json", RecordError,
                                                  max_bytes=MAX_RECORD_JSON)), str(folder))
        cfg = data["config"]
        attack = cfg["attack"]
        names = data["class_names"]
        return RunSummary(
            path=folder, created=str(data.get("created", "")), model=str(data.get("model_name", cfg.get("model"))),
            image=str(cfg.get("image", "")), attack=str(attack["attack"]), norm=str(attack["norm"]),
            budget="minimal" if is_minimal_attack(str(attack["attack"])) else budget_text(attack),
            steps=int(attack.get("steps", 0)), seed=int(attack.get("seed", 0)), resolution=cfg.get("resolution"),
            status=str(data.get("status", "")), success=bool(data["success"][0]),
            clean=class_name(names, data["clean_pred"][0]), adversarial=class_name(names, data["adv_pred"][0]),
            l2=float(data["norms"]["l2"][0]), linf=float(data["norms"]["linf"][0]))
    except RecordError as exc:
        return RunSummary(path=folder, error=str(exc).removeprefix(f"{folder}: ")[:200])
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, RecursionError) as exc:
        return RunSummary(path=folder, error=f"{type(exc).__name__}: {exc}"[:200])


def list_runs(folder: str | os.PathLike) -> list[RunSummary]:
    """Every record folder directly inside `folder`, newest first; half-written temp folders are skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RecordError(f"{folder} is not a folder of run records" + ("" if folder.exists() else ": no such folder"))
    try:
        candidates = [p for p in folder.iterdir() if not p.name.startswith(".") and (p / "record.json").is_file()]
    except OSError as exc:
        raise RecordError(f"cannot list {folder}: {exc.strerror or exc}") from exc
    summaries = [summarize_record(p) for p in candidates]
    summaries.sort(key=lambda s: (s.created, s.path.name), reverse=True)
    return summaries
