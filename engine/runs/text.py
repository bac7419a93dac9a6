"""How a run record reads for people: its lines, budgets, class names and plot series; shared by the
run history, comparisons and reports.
"""

from __future__ import annotations

import html
import json
import os
from datetime import datetime

import numpy as np

from ..record import RunRecord, label_text, number_text
from ..units import format_budget, format_setting

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
    budget = "none (minimal-norm search)" if is_minimal_attack(cfg.attack) else budget_text(cfg.to_dict())
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


def is_minimal_attack(attack: str) -> bool:
    from ..catalogue import SPECS

    return attack in SPECS and SPECS[attack].is_minimal


# ---------------------------------------------------------------------------------------------- comparing
def flattened(data: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flattened(value, name + "."))
        else:
            flat[name] = value
    return flat


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
