"""Replaying a record: the same `prepare_job`/`execute` path as `advlens attack` and the Explorer,
from the record's RunConfig and seed, and in plain words what differs when the result is not the record's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import RunConfig
from ..errors import AdvLensError
from ..metrics import FRAME_METRICS, METRIC_NAMES
from ..record import RunRecord
from .text import class_name

REPLAY_ATOL = 1e-5  # adversarial pixels may differ this much (float reduction order) and still be "identical"


METRIC_RTOL, METRIC_ATOL = 1e-3, 1e-4


# ---------------------------------------------------------------------------------------------- replaying
@dataclass
class ReplayResult:
    """Whether running a record's config and seed again gave the record's result, and if not, what moved."""

    original: RunRecord
    replayed: RunRecord
    identical: bool
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    max_abs_diff: float = 0.0  # largest |adversarial - recorded adversarial|

    def verdict(self) -> str:
        if self.identical:
            return (f"identical: the replay matches the record (adversarial max |diff| {self.max_abs_diff:.3g}, "
                    f"tolerance {REPLAY_ATOL:g})")
        return "DIFFERS: " + "; ".join(self.differences)

    def to_dict(self) -> dict:
        return {"identical": self.identical, "differences": self.differences, "notes": self.notes,
                "max_abs_diff": self.max_abs_diff, "verdict": self.verdict(),
                "replayed": self.replayed.to_json_dict()}


def _first_mismatch(a: np.ndarray, b: np.ndarray) -> int | None:
    close = np.isclose(a, b, rtol=METRIC_RTOL, atol=METRIC_ATOL, equal_nan=True)
    bad = np.flatnonzero(~close.reshape(close.shape[0], -1).all(axis=1))
    return int(bad[0]) if len(bad) else None


def replay_differences(original: RunRecord, replayed: RunRecord, atol: float = REPLAY_ATOL) -> tuple[list[str], float]:
    """Plain-words differences between a record and its replay, and the adversarial images' max |diff|."""
    diffs: list[str] = []
    if original.original.shape != replayed.original.shape:
        return [f"the images have different shapes: recorded {list(original.original.shape)}, "
                f"replayed {list(replayed.original.shape)}"], float("inf")
    names = original.class_names
    input_diff = float(np.abs(original.original - replayed.original).max(initial=0.0))
    if input_diff > atol:
        diffs.append(f"the input image differs (max |diff| {input_diff:.3g}): the image file changed or "
                     f"was resampled differently")
    delta = np.abs(original.adversarial.astype(np.float64) - replayed.adversarial.astype(np.float64))
    max_diff = float(delta.max(initial=0.0))
    if max_diff > atol:
        count = int((delta > atol).sum())
        diffs.append(f"the adversarial images differ: {count} of {delta.size} values by more than {atol:g} "
                     f"(max |diff| {max_diff:.3g})")
    if original.model_name != replayed.model_name:
        diffs.append(f"the model differs: recorded {original.model_name}, replayed {replayed.model_name}")
    if original.model_notes and original.model_notes != replayed.model_notes:
        diffs.append(f"the model was loaded differently: recorded \"{'; '.join(original.model_notes)}\", "
                     f"replayed \"{'; '.join(replayed.model_notes) or 'no notes'}\"")
    for key, title in (("labels", "true class"), ("clean_pred", "clean prediction"), ("adv_pred", "adversarial prediction")):
        ra, rb = getattr(original, key), getattr(replayed, key)
        if ra != rb:
            diffs.append(f"the {title} differs: recorded {', '.join(class_name(names, i) for i in ra)}, "
                         f"replayed {', '.join(class_name(replayed.class_names, i) for i in rb)}")
    if original.success != replayed.success:
        diffs.append(f"success differs: recorded {original.success}, replayed {replayed.success}")
    if original.status != replayed.status:
        diffs.append(f"the run ended differently: recorded {original.status}, replayed {replayed.status}")
    if original.steps_run != replayed.steps_run:
        diffs.append(f"steps run differ: recorded {original.steps_run}, replayed {replayed.steps_run}")
    for name in ("l1", "l2", "linf"):
        if name not in original.norms or name not in replayed.norms:
            continue
        if not np.allclose(original.norms[name], replayed.norms[name], rtol=1e-4, atol=atol):
            diffs.append(f"the {name.upper()} norm differs: recorded {original.norms[name]}, "
                         f"replayed {replayed.norms[name]}")
    for name in METRIC_NAMES:
        ma, mb = original.metrics.get(name), replayed.metrics.get(name)
        if ma is None or mb is None:
            continue
        if ma.shape != mb.shape:
            diffs.append(f"the per-step {name} has {ma.shape[0]} steps recorded, {mb.shape[0]} replayed")
            continue
        if name in FRAME_METRICS:  # taken on the steps that had a frame, which depend on timing: compare those both have
            both = np.isfinite(ma) & np.isfinite(mb)
            ma, mb = np.where(both, ma, 0.0), np.where(both, mb, 0.0)
        step = _first_mismatch(ma, mb)
        if step is not None:
            diffs.append(f"the per-step {name} differs from step {step}")
    return diffs, max_diff


def replay_record(record: RunRecord, *, device: str | None = None, model=None, card=None,
                  trust_pickle: bool = False, atol: float = REPLAY_ATOL) -> ReplayResult:
    """Run the record's attack again (same config, seed and labels) through prepare_job/execute, and compare.

    The image is rebuilt from the config (sample name or file, resolution, filter); when it cannot be
    read any more (a pasted image, a moved file) the input stored in the record is used, with a note.
    """
    import torch

    from ..loaders import load_model
    from ..model_input import fitted_image, input_fit
    from ..session import execute, prepare_job

    config = RunConfig.from_dict(record.config.to_dict())
    notes: list[str] = []
    if device is not None:
        config.device = device
    if model is None:
        model = load_model(config.model, config.device, card=card, trust_pickle=trust_pickle)
    try:  # fitted to the model as the run did (the one path: model_input), so a crop replays as a crop
        image = fitted_image(config.image, input_fit(model, config.resolution, config.resample_filter, config.fit),
                             config.resample_filter)
    except (AdvLensError, OSError) as exc:
        image = torch.from_numpy(np.ascontiguousarray(record.original))
        notes.append(f"the image '{config.image}' cannot be loaded now ({exc}); replayed on the input stored "
                     f"in the record")
    job = prepare_job(config, model=model, image=image, label=record.labels)
    replayed = execute(job)
    if replayed.device != record.device:
        notes.append(f"recorded on {record.device}, replayed on {replayed.device}: float results can differ slightly across devices and thread counts")
    return judge_replay(record, replayed, notes, atol)


def judge_replay(original: RunRecord, replayed: RunRecord, notes: list[str] | None = None,
                 atol: float = REPLAY_ATOL) -> ReplayResult:
    """The verdict on a replay that ran elsewhere (the GUI runs it live on its own worker)."""
    differences, max_diff = replay_differences(original, replayed, atol)
    return ReplayResult(original=original, replayed=replayed, identical=not differences, differences=differences,
                        notes=list(notes or []), max_abs_diff=max_diff)
