"""Norms and budgets in the units people use: Linf in 1/255 grey levels, L2 and L1 in [0, 1] pixel units.

One place parses what people type ('8/255', '0:16:1/255') and formats what they read ('8/255',
'0.0314 (8.00/255)'), for the CLI, the GUI, run records and reports alike. Torch-free: the GUI
process imports it.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .errors import ConfigError

NORMS: tuple[str, ...] = ("linf", "l2", "l1")
NORM_TITLES: dict[str, str] = {"linf": "Linf", "l2": "L2", "l1": "L1", "l0": "L0"}
GREY_LEVELS = 255  # an 8-bit image's steps: Linf budgets are counted in 1/255
MAX_EPS_RANGE = 1000  # values an epsilon range may expand to


def check_norm(norm: str) -> str:
    """The norm's canonical name ('Linf' -> 'linf'); ConfigError for anything else."""
    norm = str(norm).lower()
    if norm not in NORMS:
        raise ConfigError(f"unknown norm '{norm}': choose one of {', '.join(NORMS)}")
    return norm


def norm_title(norm: str) -> str:
    """'Linf', 'L2', 'L1', 'L0': how a norm is written for people."""
    return NORM_TITLES.get(norm, norm.upper())


def display_scale(norm: str) -> float:
    """What a pixel-unit budget is multiplied by for display: 255 for Linf (grey levels), else 1."""
    return float(GREY_LEVELS) if norm == "linf" else 1.0


def unit_suffix(norm: str) -> str:
    """'/255' for Linf, '' for L2 and L1: the unit written after a displayed budget."""
    return f"/{GREY_LEVELS}" if norm == "linf" else ""


def parse_budget(text: str | float | int) -> float:
    """A budget from '8/255', '0.5', '8' or a number; fractions are what people type for Linf."""
    if isinstance(text, int | float):
        value = float(text)
    else:
        try:
            value = float(Fraction(text.strip()))
        except (ValueError, ZeroDivisionError) as exc:
            raise ConfigError(f"cannot read '{text}' as a number (examples: 8/255, 0.5)") from exc
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"a budget must be a finite number >= 0, got {text}")
    return value


def format_budget(eps: float, norm: str) -> str:
    """'8/255' for Linf, '0.5' for L2/L1: a budget written the way people type it."""
    eps = float(eps)
    if norm == "linf":
        return f"{eps * GREY_LEVELS:.3g}/{GREY_LEVELS}"
    return f"{eps:.4g}"


def format_norm(value: float, norm: str, digits: int = 4) -> str:
    """A measured norm: '0.0314 (8.00/255)' for Linf, '0.5123' otherwise."""
    value = float(value)
    if norm == "linf":
        return f"{value:.{digits}f} ({value * GREY_LEVELS:.2f}/{GREY_LEVELS})"
    if norm == "l0":
        return f"{int(round(value))}"
    return f"{value:.{digits}f}"


def grey_levels(value):
    """A Linf value (a number or an array) in 1/255 grey levels, as plots and tables show it."""
    return value * GREY_LEVELS


def linf_text(value: float, digits: int = 2) -> str:
    """A measured Linf for people: '2.00/255'."""
    return f"{float(value) * GREY_LEVELS:.{digits}f}/{GREY_LEVELS}"


def format_setting(value: float, norm: str | None) -> str:
    """A budget-like setting (eps, step size) with its Linf grey levels beside it: '0.0314 (8/255)'."""
    text = f"{float(value):.6g}"
    return text + (f" ({float(value) * GREY_LEVELS:.3g}/{GREY_LEVELS})" if norm == "linf" else "")


def parse_eps_range(text: str) -> list[float]:
    """'0:16:1/255' -> 0, 1/255, ..., 16/255; 'a,b,c' -> a list; a single number -> [it]."""
    text = text.strip()
    if "," in text:
        return [parse_budget(t) for t in text.split(",") if t.strip()]
    parts = text.split(":")
    if len(parts) == 1:
        return [parse_budget(text)]
    if len(parts) != 3:
        raise ConfigError(f"epsilon range must be START:STOP:STEP (e.g. 0:16:1/255) or a list a,b,c; got '{text}'")
    unit_text = parts[2]
    unit = parse_budget(unit_text)
    if "/" in unit_text:  # 0:16:2/255 counts START and STOP in units of 1/255
        try:
            scale = 1 / float(unit_text.split("/", 1)[1])
        except (ValueError, ZeroDivisionError) as exc:
            raise ConfigError(f"cannot read '{unit_text}' as a step (example: 1/255)") from exc
        start, stop = parse_budget(parts[0]) * scale, parse_budget(parts[1]) * scale
    else:
        start, stop = parse_budget(parts[0]), parse_budget(parts[1])
    if unit <= 0:
        raise ConfigError("epsilon step must be positive")
    count = math.floor((stop - start) / unit + 1e-9) + 1
    if count < 1 or count > MAX_EPS_RANGE:
        raise ConfigError(f"epsilon range gives {count} values; use 1 to {MAX_EPS_RANGE}")
    return [start + i * unit for i in range(count)]
