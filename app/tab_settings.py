"""The Analysis, Resolution lab and Stability lab tabs' settings as plain data, for a saved session.

Design note. A session restores what a person set on each tab, so each tab's controls are one small
dataclass here, field for field what its panel's `options()` returns (the Analysis tab adds the
transfer models the person unchecked, by identity). They are not the engine's `ResolutionLabConfig`
or `StabilityConfig`: those hold settings no panel shows (batch, bootstrap, plateau, …) and lack
some a panel does (the Resolution lab's model choice and left plot), so a session holding them would
either drop settings or claim ones the window cannot show. The engine's checks still decide what is
valid: `config_from_options` builds the Stability lab's config from these fields, and the Resolution
lab's attacks, conditions and size limits come from `resolution_config`.

A session file may be damaged or hostile, so `from_dict` reads only the known fields, each checked
for type and range (the ranges are the panels' own; a test holds them equal), and names the first bad
one in a single `ConfigError` line. Qt-free and torch-free, as session_file.py is.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, NamedTuple

from advlens.engine.errors import AdvLensError, ConfigError
from advlens.engine.labs.resolution_config import ATTACKS as LAB_ATTACKS
from advlens.engine.labs.resolution_config import CONDITIONS
from advlens.engine.labs.stability_config import NORMS, SWEEPS, config_from_options
from advlens.engine.units import parse_eps_range

MAX_TEXT = 4096  # a path or a list of numbers; more is not a setting
MAX_MODELS = 500  # unchecked transfer models remembered

ANALYSIS_SOURCES = ("demo", "folder")
ANALYSIS_RESOLUTIONS = (16, 24, 32, 48, 64, 96, 128, 256)
MINIMAL_ATTACKS = ("fmn", "deepfool", "cw")
MINIMAL_NORMS = ("l2", "linf")
LAB_MODELS = ("single", "per-resolution")
LEFT_METRICS = ("l2", "rel_l2", "rms", "first_order_l2", "grad_l1", "grad_l2", "margin_grad_l1", "margin_grad_l2")



class Span(NamedTuple):
    """A number's allowed range, both ends included."""

    low: float
    high: float


# field -> a Span for numbers, or the allowed values of a choice; the panels use the same ranges
ANALYSIS_RULES: dict[str, Any] = {"source": ANALYSIS_SOURCES, "count": Span(1, 5000), "resolution": ANALYSIS_RESOLUTIONS,
                                  "minimal_attack": MINIMAL_ATTACKS, "minimal_norm": MINIMAL_NORMS}
RESOLUTION_RULES: dict[str, Any] = {"attack": LAB_ATTACKS, "steps": Span(5, 5000), "condition": CONDITIONS,
                                    "models": LAB_MODELS, "left_metric": LEFT_METRICS}
STABILITY_RULES: dict[str, Any] = {"train_points": Span(10, 100_000), "test_points": Span(10, 100_000), "width": Span(1, 1024),
                                   "depth": Span(1, 6), "seeds": Span(1, 20), "train_steps": Span(10, 100_000),
                                   "learning_rate": Span(0.0001, 1.0), "norm": NORMS, "sweep": SWEEPS,
                                   "points_stripes": Span(2, 4096)}


def _checked(cls, data: Any, rules: dict[str, Any], where: str) -> dict:
    """`data`'s fields of `cls`, each of its default's type and within `rules`; missing ones keep the default."""
    if not isinstance(data, dict):
        raise ConfigError(f"'{where}' must be an object of settings")
    known = {f.name for f in fields(cls)}
    unknown = sorted(str(k)[:40] for k in data if k not in known)
    if unknown:
        raise ConfigError(f"unknown {where} settings: {', '.join(unknown[:5])}")
    defaults = asdict(cls())
    values = {}
    for name, value in data.items():
        label = f"'{where}.{name}'"
        default = defaults[name]
        rule = rules.get(name)
        if isinstance(value, bool):
            raise ConfigError(f"{label} must not be true or false")
        if isinstance(default, int) and not isinstance(value, int):
            raise ConfigError(f"{label} must be a whole number, got {str(value)[:40]!r}")
        if isinstance(default, float):
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{label} must be a finite number, got {str(value)[:40]!r}")
            value = float(value)
        elif isinstance(default, str):
            if not isinstance(value, str) or len(value) > MAX_TEXT:
                raise ConfigError(f"{label} must be text of at most {MAX_TEXT} characters")
        elif isinstance(default, list):
            if (not isinstance(value, list) or len(value) > MAX_MODELS
                    or not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in value)):
                raise ConfigError(f"{label} must be a list of at most {MAX_MODELS} texts")
            value = list(value)
        if isinstance(rule, Span):
            if not rule.low <= value <= rule.high:
                raise ConfigError(f"{label} must be between {rule.low:g} and {rule.high:g}, got {value!r}")
        elif rule is not None and value not in rule:
            raise ConfigError(f"{label} must be one of {', '.join(map(str, rule))}, got {str(value)[:40]!r}")
        values[name] = value
    return values


@dataclass
class AnalysisSettings:
    """The Analysis tab's controls (`AnalysisPanel.options()`) and the transfer models left unchecked."""

    source: str = "demo"
    count: int = 64
    folder: str = ""
    resolution: int = 32
    eps_range: str = "0:16:1/255"
    minimal_attack: str = "fmn"
    minimal_norm: str = "l2"
    unchecked: list[str] = field(default_factory=list)  # transfer model identities (transfer_models.py)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> AnalysisSettings:
        settings = cls(**_checked(cls, data, ANALYSIS_RULES, "analysis"))
        try:
            parse_eps_range(settings.eps_range)
        except (AdvLensError, ValueError) as exc:
            raise ConfigError(f"'analysis.eps_range': {exc}") from None
        if settings.source == "folder" and not settings.folder:
            settings.source = "demo"  # a folder source without its folder is the default source
        return settings


@dataclass
class ResolutionSettings:
    """The Resolution lab's controls (`ResolutionPanel.options()`) and the metric of its left plot."""

    images: str = "demo:32"
    resolutions: str = "16,24,32,48,64,96,128"
    attack: str = "fmn"
    steps: int = 100
    condition: str = "native"
    models: str = "single"
    left_metric: str = "l2"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ResolutionSettings:
        settings = cls(**_checked(cls, data, RESOLUTION_RULES, "resolution"))
        try:
            sizes = [int(t) for t in settings.resolutions.split(",") if t.strip()]
        except ValueError:
            raise ConfigError("'resolution.resolutions' must be whole numbers separated by commas") from None
        if len(set(sizes)) < 2 or min(sizes) < 8 or max(sizes) > 1024:
            raise ConfigError("'resolution.resolutions': give at least two resolutions between 8 and 1024 pixels")
        return settings


@dataclass
class StabilitySettings:
    """The Stability lab's controls (`StabilityPanel.options()`): the input of `config_from_options`."""

    stripes: str = "2,4,8,16,32,64"
    dims: str = "2,32,256"
    train_points: int = 2000
    test_points: int = 1000
    width: int = 16
    depth: int = 2
    seeds: int = 3
    train_steps: int = 2000
    learning_rate: float = 0.01
    norm: str = "l2"
    sweep: str = "stripes"
    point_counts: str = "100,300,1000,3000,10000,20000"
    points_stripes: int = 4

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> StabilitySettings:
        settings = cls(**_checked(cls, data, STABILITY_RULES, "stability"))
        try:
            config_from_options(settings.to_dict())  # the lab's own check of the lists and their ranges
        except (AdvLensError, ValueError) as exc:
            raise ConfigError(f"'stability': {exc}") from None
        return settings


TAB_SETTINGS = {"analysis": AnalysisSettings, "resolution": ResolutionSettings, "stability": StabilitySettings}
