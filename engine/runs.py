"""Run records as a history: list a runs folder, compare two records, replay one, write a one-page report.

The GUI and the CLI both call these, so `advlens runs ...` and the app's File menu agree. A replay goes
through the same `prepare_job`/`execute` path as `advlens attack` and the Explorer, from the record's
RunConfig and seed, and says in plain words what differs when the result is not the record's.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from .config import RunConfig
from .errors import AdvLensError
from .files import read_file
from .images import atomic_write_bytes, to_uint8
from .metrics import FRAME_METRICS, METRIC_NAMES
from .record import RecordError, RunRecord, label_text, number_text, perturbation_visual
from .record_schema import MAX_RECORD_JSON, check_record
from .units import format_budget, format_setting

REPLAY_ATOL = 1e-5  # adversarial pixels may differ this much (float reduction order) and still be "identical"
METRIC_RTOL, METRIC_ATOL = 1e-3, 1e-4
PLOT_SERIES = {
    # name in plot_series(): (legend, colour, plot index); the Explorer's live plots use the same names
    "loss": ("loss", "#dc322f", 0),
    "margin": ("margin", "#268bd2", 0),
    "true_prob": ("true class", "#2ea043", 1),
    "target_prob": ("target", "#d67800", 1),
    "l2": ("L2", "#6c71c4", 2),
    "linf_255": ("Linf x255", "#d33682", 2),
}
PLOT_TITLES = ("Loss and margin", "Probabilities", "Perturbation norms")


def load_record(path: str | os.PathLike) -> RunRecord:
    """A record from its folder or its record.json; a RecordError with one plain line otherwise."""
    return RunRecord.load(path)


# ---------------------------------------------------------------------------------------------- formatting
def local_time(created: str) -> str:
    """The record's UTC timestamp in local time, 'YYYY-MM-DD HH:MM:SS' (as written if unreadable)."""
    try:
        return datetime.fromisoformat(created).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return str(created)


def budget_text(attack: dict) -> str:
    """'8/255' for Linf, '0.5' for L2/L1: the units people type."""
    eps = attack.get("eps", 0.0)
    if not isinstance(eps, int | float) or isinstance(eps, bool):  # a tampered record: shown as it is
        return str(eps)
    return format_budget(float(eps), str(attack.get("norm", "")))


def class_name(names: list[str], index: int | None) -> str:
    """The class name at `index`, the index as text where it names no class, '-' for none."""
    return label_text(names, index)


def html_text(value: object) -> str:
    """The one way any value reaches the HTML report: as text, with <, >, & and quotes escaped."""
    return html.escape(str(value), quote=True)


def record_lines(record: RunRecord, path: str | os.PathLike | None = None, image: int = 0) -> list[tuple[str, str]]:
    """(field, value) lines describing a record, for `runs show`, the report and the GUI."""
    cfg = record.config.attack
    names = record.class_names
    shape = record.original.shape
    goal = f"targeted at {class_name(names, cfg.target)} ({cfg.target})" if cfg.target is not None else "untargeted"
    budget = "none (minimal-norm search)" if _is_minimal(cfg.attack) else budget_text(cfg.to_dict())
    lines = []
    if path is not None:
        lines.append(("record", str(path)))
    lines += [
        ("created", local_time(record.created)),
        ("model", f"{record.model_name} ({record.config.model}) on {record.device}"),
        ("image", f"{record.config.image} at {shape[-1]}x{shape[-2]}"
                  + (f" ({shape[0]} images, showing #{image})" if shape[0] > 1 else "")),
        ("attack", f"{str(cfg.attack).upper()} {cfg.norm} eps={budget} steps={cfg.steps} {goal}, seed {cfg.seed}"),
        ("true class", class_name(names, record.labels[image])),
        ("clean", f"{class_name(names, record.clean_pred[image])} ({number_text(record.clean_conf[image], '.1%')})"),
        ("adversarial", f"{class_name(names, record.adv_pred[image])} "
                        f"({number_text(record.adv_conf[image], '.1%')})"),
        ("success", "yes" if record.success[image] else "no"),
        ("norms", _norms_text(record, image)),
        *(("model note", note) for note in record.model_notes),
        ("time", f"{number_text(record.duration_s, '.2f')} s for {record.steps_run} steps ({record.status})"),
        ("versions", ", ".join(f"{k} {v}" for k, v in record.versions.items())),
    ]
    return lines


def _norms_text(record: RunRecord, image: int) -> str:
    norms = record.norms
    l1 = f"L1 {number_text(norms['l1'][image], '.4f')}  " if "l1" in norms else ""
    return (f"L0 {number_text(norms['l0'][image], '.0f')}  {l1}L2 {number_text(norms['l2'][image], '.4f')}  "
            f"Linf {number_text(norms['linf'][image], '.4f')} ({number_text(norms['linf'][image], '.2f', 255)}/255)")


def _is_minimal(attack: str) -> bool:
    from .catalogue import SPECS

    return attack in SPECS and SPECS[attack].is_minimal


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
            budget="minimal" if _is_minimal(str(attack["attack"])) else budget_text(attack),
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


# ---------------------------------------------------------------------------------------------- comparing
def _flatten(data: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def config_differences(a: RunConfig, b: RunConfig) -> list[tuple[str, object, object]]:
    """(field, a, b) for every setting that differs, dotted names such as 'attack.eps'."""
    fa, fb = _flatten(a.to_dict()), _flatten(b.to_dict())
    missing = object()
    rows = []
    for name in sorted(set(fa) | set(fb), key=lambda n: (n.count("."), n)):
        va, vb = fa.get(name, missing), fb.get(name, missing)
        if va != vb:
            rows.append((name, None if va is missing else va, None if vb is missing else vb))
    return rows


def setting_text(name: str, value: object, norm: str | None = None) -> str:
    """A setting's value for people: budgets in Linf also as k/255, everything else as JSON."""
    if name in ("attack.eps", "attack.step_size") and isinstance(value, float):
        return format_setting(value, norm)
    return json.dumps(value)


def plot_series(record: RunRecord, image: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(steps, series) for one image of a record, named like the Explorer's live plots (Linf in /255)."""
    metrics = record.metrics
    count = next(iter(metrics.values())).shape[0] if metrics else 0
    steps = np.arange(count, dtype=np.float64)
    series: dict[str, np.ndarray] = {}
    for name in ("loss", "margin", "true_prob", "target_prob", "l2"):
        if name in metrics:
            series[name] = np.asarray(metrics[name][:, image], dtype=np.float64)
    if "linf" in metrics:
        series["linf_255"] = np.asarray(metrics["linf"][:, image], dtype=np.float64) * 255.0
    return steps, series


def outcome_rows(a: RunRecord, b: RunRecord, image: int = 0) -> list[tuple[str, str, str]]:
    """Final predictions, success and norms of two records side by side (as text)."""
    def cells(r: RunRecord) -> list[str]:
        names = r.class_names
        return [
            local_time(r.created), f"{r.model_name} on {r.device}", r.config.image,
            "x".join(str(s) for s in r.original.shape[-2:][::-1]),
            class_name(names, r.labels[image]),
            f"{class_name(names, r.clean_pred[image])} ({r.clean_conf[image]:.1%})",
            f"{class_name(names, r.adv_pred[image])} ({r.adv_conf[image]:.1%})",
            "yes" if r.success[image] else "no",
            str(int(r.norms["l0"][image])),
            f"{r.norms['l1'][image]:.4f}" if "l1" in r.norms else "-", f"{r.norms['l2'][image]:.4f}",
            f"{r.norms['linf'][image]:.4f} ({r.norms['linf'][image] * 255:.2f}/255)",
            f"{r.steps_run} ({r.status})", f"{r.duration_s:.2f} s",
        ]
    labels = ["created", "model", "image", "size", "true class", "clean", "adversarial", "success", "L0", "L1",
              "L2", "Linf", "steps", "time"]
    return list(zip(labels, cells(a), cells(b), strict=True))


@dataclass
class RunComparison:
    """Two records side by side: config differences, outcomes, and per-step series to overlay."""

    a: RunRecord
    b: RunRecord
    a_path: str = ""
    b_path: str = ""
    differences: list[tuple[str, object, object]] = field(default_factory=list)
    outcome: list[tuple[str, str, str]] = field(default_factory=list)
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> (a, b)
    steps: tuple[np.ndarray, np.ndarray] = (np.zeros(0), np.zeros(0))

    def to_dict(self) -> dict:
        """JSON-ready (the CLI's --json): series as lists, NaN as null."""
        def clean(values: np.ndarray) -> list[float | None]:
            return [float(v) if math.isfinite(v) else None for v in values]

        return {
            "a": self.a_path, "b": self.b_path,
            "differences": [{"field": f, "a": va, "b": vb} for f, va, vb in self.differences],
            "outcome": [{"field": f, "a": va, "b": vb} for f, va, vb in self.outcome],
            "series": {name: {"a": clean(sa), "b": clean(sb)} for name, (sa, sb) in self.series.items()},
        }


def compare_records(a: RunRecord, b: RunRecord, a_path: str | os.PathLike = "",
                    b_path: str | os.PathLike = "") -> RunComparison:
    """What differs between two runs: settings, outcome, and how their metrics evolved."""
    steps_a, series_a = plot_series(a)
    steps_b, series_b = plot_series(b)
    differences = config_differences(a.config, b.config)
    if a.model_name != b.model_name:
        differences.append(("model (loaded)", a.model_name, b.model_name))
    empty = np.zeros(0)
    series = {name: (series_a.get(name, empty), series_b.get(name, empty))
              for name in PLOT_SERIES if name in series_a or name in series_b}
    return RunComparison(a=a, b=b, a_path=str(a_path), b_path=str(b_path), differences=differences,
                         outcome=outcome_rows(a, b), series=series, steps=(steps_a, steps_b))


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

    from .loaders import load_model
    from .model_input import fitted_image, input_fit
    from .session import execute, prepare_job

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


# ---------------------------------------------------------------------------------------------- report
def png_data_uri(image: np.ndarray) -> str:
    """A (3, H, W) [0, 1] image as a base64 PNG data URI (the report embeds every picture)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _fmt(value: float) -> str:
    return html_text(f"{value:.3g}")


def svg_plot(title: str, steps: np.ndarray, curves: list[tuple[str, str, np.ndarray]], width: int = 330,
             height: int = 190) -> str:
    """A small line plot as plain SVG (axes box, min/max ticks, legend).

    A curve joins its finite points: the norms of a record hold values only on the steps that had a
    frame (NaN between), and a curve with none is left out.
    """
    left, right, top, bottom = 46, 8, 22, 34
    pw, ph = width - left - right, height - top - bottom
    esc = html_text
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">',
             f'<text x="{width / 2:.0f}" y="14" text-anchor="middle" font-size="12">{esc(title)}</text>',
             f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    finite = [v[np.isfinite(v)] for _, _, v in curves if len(v)]
    finite = [v for v in finite if len(v)]
    if not finite or len(steps) == 0:
        parts.append(f'<text x="{left + pw / 2:.0f}" y="{top + ph / 2:.0f}" text-anchor="middle" '
                     f'font-size="11" fill="#777">no data</text></svg>')
        return "".join(parts)
    lo = float(min(v.min() for v in finite))
    hi = float(max(v.max() for v in finite))
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1 = float(steps.min()), float(max(steps.max(), steps.min() + 1))

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + (hi - y) / (hi - lo) * ph

    parts += [f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{_fmt(hi)}</text>',
              f'<text x="{left - 4}" y="{top + ph}" text-anchor="end" font-size="10">{_fmt(lo)}</text>',
              f'<text x="{left}" y="{top + ph + 13}" text-anchor="middle" font-size="10">{_fmt(x0)}</text>',
              f'<text x="{left + pw}" y="{top + ph + 13}" text-anchor="middle" font-size="10">{_fmt(x1)}</text>',
              f'<text x="{left + pw / 2:.0f}" y="{top + ph + 13}" text-anchor="middle" font-size="10">step</text>']
    if lo < 0 < hi:
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" stroke="#bbb" '
                     f'stroke-dasharray="3,3"/>')
    legend_x = left + 4
    for label, colour, values in curves:
        n = min(len(values), len(steps))
        seg = [f"{sx(float(x)):.1f},{sy(float(y)):.1f}" for x, y in zip(steps[:n], values[:n], strict=True)
               if math.isfinite(y)]
        if not seg:
            continue
        points = " ".join(seg if len(seg) > 1 else seg * 2)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{legend_x}" y="{height - 6}" font-size="10" fill="{colour}">{esc(label)}</text>')
        legend_x += 8 + 6 * len(label)
    parts.append("</svg>")
    return "".join(parts)


REPORT_CSS = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1080px; color: #222; }
h1 { font-size: 20px; margin-bottom: 2px; } h2 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: #666; font-size: 13px; }
.verdict { padding: 8px 12px; border-radius: 4px; font-weight: 600; margin: 12px 0; }
.success { background: #fde2e1; color: #8a1c17; } .fail { background: #e3f4e4; color: #1d5e22; }
.stopped { background: #eee; } .partial { background: #ece4f7; color: #4527a0; }
.images { display: flex; gap: 14px; flex-wrap: wrap; } figure { margin: 0; text-align: center; font-size: 12px; }
figure img { width: 200px; height: 200px; object-fit: contain; image-rendering: pixelated; border: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 12px; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.cols { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.plots { display: flex; gap: 8px; flex-wrap: wrap; } footer { color: #888; font-size: 11px; margin-top: 18px; }
"""


def report_html(record: RunRecord, source: str | os.PathLike | None = None, max_images: int = 4) -> str:
    """The one-page report as self-contained HTML: pictures as data URIs, tables, inline SVG plots.

    Every value from the record goes through `html_text`, numbers included: a shared record is data
    from someone else, and a tampered field must show as text, never as markup.
    """
    esc = html_text
    cfg = record.config.attack
    names = record.class_names
    from .outcome import describe_run, record_facts

    head, tone = describe_run(record_facts(record))  # the words of the Explorer's banner
    tone = tone if tone in ("success", "fail", "partial") else "stopped"
    title = f"AdvLens run: {str(cfg.attack).upper()} on {record.config.image}"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{esc(title)}</title>",
           f"<style>{REPORT_CSS}</style></head><body>",
           f"<h1>{esc(title)}</h1>",
           f'<div class="sub">{esc(local_time(record.created))} · {esc(record.model_name)} on {esc(record.device)}'
           + (f" · {esc(source)}" if source else "") + "</div>",
           f'<div class="verdict {tone}">{esc(head)}</div>',
           "<h2>Images</h2>"]
    count = min(record.original.shape[0], max_images)
    for i in range(count):
        delta = record.perturbation[i]
        peak = float(np.abs(delta).max(initial=0.0))
        captions = [
            (record.original[i], f"original: {class_name(names, record.clean_pred[i])} "
                                 f"({number_text(record.clean_conf[i], '.0%')})"),
            (record.adversarial[i], f"adversarial: {class_name(names, record.adv_pred[i])} "
                                    f"({number_text(record.adv_conf[i], '.0%')})"),
            (perturbation_visual(delta), f"perturbation ×{1 / peak:.0f} around grey" if peak else "no perturbation"),
        ]
        out.append('<div class="images">')
        for array, caption in captions:
            out.append(f'<figure><img alt="{esc(caption)}" src="{png_data_uri(array)}">'
                       f"<figcaption>{esc(caption)}</figcaption></figure>")
        out.append("</div>")
    if record.original.shape[0] > count:
        out.append(f'<p class="sub">{esc(record.original.shape[0] - count)} more images are in the record.</p>')
    out.append('<div class="cols"><div><h2>Outcome</h2><table>')
    for key, value in record_lines(record):
        if key not in ("versions", "created"):
            out.append(f"<tr><th>{esc(key)}</th><td>{esc(value)}</td></tr>")
    out.append("</table><h2>Norms</h2><table><tr><th>image</th><th>L0</th><th>L1</th><th>L2</th><th>Linf</th>"
               "<th>Linf ×255</th></tr>")
    norms = record.norms
    for i in range(record.original.shape[0]):
        cells = [i, number_text(norms["l0"][i], ".0f"), number_text(norms.get("l1", ["-"] * (i + 1))[i], ".5f"),
                 number_text(norms["l2"][i], ".5f"), number_text(norms["linf"][i], ".5f"),
                 number_text(norms["linf"][i], ".3f", 255)]
        out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
    out.append("</table></div><div><h2>Configuration</h2><table>")
    for key, value in _flatten(record.config.to_dict()).items():
        out.append(f"<tr><th>{esc(key)}</th><td>{esc(json.dumps(value, default=str))}</td></tr>")
    out.append("</table></div></div><h2>Per step</h2><div class=\"plots\">")
    steps, series = plot_series(record)
    for index, plot_title in enumerate(PLOT_TITLES):
        curves = [(legend, colour, series[name]) for name, (legend, colour, where) in PLOT_SERIES.items()
                  if where == index and name in series]
        out.append(svg_plot(plot_title, steps, curves))
    out.append("</div>")
    versions = ", ".join(f"{k} {v}" for k, v in record.versions.items())
    out.append(f"<footer>AdvLens run record format {esc(record.format_version)} · {esc(versions)} · "
               f"seed {esc(cfg.seed)}</footer></body></html>")
    return "\n".join(out) + "\n"


def write_report(record: RunRecord, out: str | os.PathLike, source: str | os.PathLike | None = None) -> Path:
    """Write the report atomically (temp file, then rename), so an old report is never half-replaced."""
    out = Path(out)
    atomic_write_bytes(out, report_html(record, source).encode("utf-8"))
    return out
