"""Indicators of attack failure as plain data: a traffic light, a value, a sentence and a fix each.

After Pintor et al., "Indicators of Attack Failure" (NeurIPS 2022): an attack that reports "not
fooled" is evidence of robustness only if it did not fail for a reason of its own (a masked
gradient, too few steps, a returned point that is not the best one seen). Each indicator here says,
per image and per run, whether such a reason showed, in one sentence, with a concrete change of the
attack's settings to try. Torch-free and numpy-free: results travel between processes as dicts
(`to_dict` / `from_dict`) and the GUI draws them without the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from enum import Enum

from ..config import AttackConfig


class Level(str, Enum):
    """A traffic light. SKIPPED: not measured for this run (the sentence says why)."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"

    @property
    def rank(self) -> int:
        return {"skipped": 0, "ok": 1, "warn": 2, "fail": 3}[self.value]

    @property
    def fired(self) -> bool:
        return self in (Level.WARN, Level.FAIL)


# name -> title, in the order people read them (most common cause of a false "robust" first)
INDICATORS: dict[str, str] = {
    "gradients": "Unavailable gradients",
    "incomplete_optimisation": "Incomplete optimisation",
    "cross_check": "Another attack did better",
    "boundary_not_crossed": "Boundary reached, not crossed",
    "silent_success": "Silent success",
    "unstable_predictions": "Unstable predictions",
    "restarts": "Non-converging restarts",
    "transfer_failure": "Transfer failure",
    "unconstrained_failure": "Nothing found without a budget",
}


def indicator_title(name: str) -> str:
    return INDICATORS.get(name, name.replace("_", " ").capitalize())


@dataclass
class Fix:
    """A suggested change of the attack's settings: `changes` are AttackConfig fields and their new
    values (`params` is merged into the config's params); `advice` is what no setting can do."""

    title: str
    changes: dict = field(default_factory=dict)
    advice: str = ""

    def apply(self, config: AttackConfig) -> AttackConfig:
        """The config with this fix applied (a new object; unchecked: the run checks it as usual)."""
        changes = dict(self.changes)
        params = changes.pop("params", None)
        known = {f.name for f in fields(AttackConfig)}
        fixed = replace(config, **{k: v for k, v in changes.items() if k in known})
        if params is not None:
            kept = {} if "attack" in changes else dict(config.params)
            fixed.params = kept | dict(params)
        elif "attack" in changes and changes["attack"] != config.attack:
            fixed.params = {}  # another attack's settings mean nothing to this one
        return fixed

    @property
    def applicable(self) -> bool:
        """True when the fix is a change of settings (one click can run it), not only advice."""
        return bool(self.changes)

    def to_dict(self) -> dict:
        return {"title": self.title, "changes": dict(self.changes), "advice": self.advice}

    @classmethod
    def from_dict(cls, data: dict | None) -> Fix | None:
        if not data:
            return None
        return cls(str(data.get("title", "")), dict(data.get("changes") or {}), str(data.get("advice", "")))


@dataclass
class Indicator:
    """One indicator for one image (or summarised over a run)."""

    name: str
    level: Level
    value: float | None = None
    value_text: str = ""
    sentence: str = ""
    fix: Fix | None = None

    @property
    def title(self) -> str:
        return indicator_title(self.name)

    @property
    def fired(self) -> bool:
        return self.level.fired

    def to_dict(self) -> dict:
        value = self.value if self.value is not None and math.isfinite(self.value) else None  # JSON has no NaN
        return {"name": self.name, "title": self.title, "level": self.level.value, "value": value,
                "value_text": self.value_text, "sentence": self.sentence,
                "fix": self.fix.to_dict() if self.fix is not None else None}

    @classmethod
    def from_dict(cls, data: dict) -> Indicator:
        value = data.get("value")
        return cls(str(data["name"]), Level(data.get("level", "skipped")),
                   None if value is None else float(value), str(data.get("value_text", "")),
                   str(data.get("sentence", "")), Fix.from_dict(data.get("fix")))


def skipped(name: str, why: str) -> Indicator:
    return Indicator(name, Level.SKIPPED, sentence=why)


def ok(name: str, sentence: str, value: float | None = None, value_text: str = "") -> Indicator:
    return Indicator(name, Level.OK, value, value_text, sentence)


@dataclass
class ImageDiagnosis:
    """Every indicator measured for one image of a run, in `INDICATORS` order."""

    image: int
    indicators: list[Indicator] = field(default_factory=list)

    def get(self, name: str) -> Indicator | None:
        return next((i for i in self.indicators if i.name == name), None)

    def fired(self) -> list[Indicator]:
        return [i for i in self.indicators if i.fired]

    def to_dict(self) -> dict:
        return {"image": self.image, "indicators": [i.to_dict() for i in self.indicators]}

    @classmethod
    def from_dict(cls, data: dict) -> ImageDiagnosis:
        return cls(int(data["image"]), [Indicator.from_dict(i) for i in data.get("indicators", [])])


def indicator_order(name: str) -> int:
    """Where an indicator stands in `INDICATORS` (unknown names last)."""
    names = list(INDICATORS)
    return names.index(name) if name in names else len(names)


def summarise(name: str, per_image: list[Indicator]) -> Indicator:
    """One indicator over a run's images: the worst image's light, sentence and fix, and how many fired."""
    if not per_image:
        return skipped(name, "no image was measured")
    worst = max(per_image, key=lambda i: i.level.rank)
    fired = sum(i.fired for i in per_image)
    if len(per_image) == 1 or not worst.fired:
        return replace(worst)
    sentence = f"{fired} of {len(per_image)} images: {worst.sentence}"
    return Indicator(name, worst.level, worst.value, worst.value_text, sentence, worst.fix)


@dataclass
class RunDiagnosis:
    """The indicators of one run (or one point of a sweep): per image, summarised, and counted."""

    attack: str
    norm: str
    images: list[ImageDiagnosis] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a person should know about the measurement itself

    @property
    def summary(self) -> list[Indicator]:
        names = sorted({i.name for d in self.images for i in d.indicators}, key=indicator_order)
        return [summarise(n, [i for d in self.images if (i := d.get(n)) is not None]) for n in names]

    def counts(self) -> dict[str, int]:
        """How many images triggered (warn or fail) each indicator, for every indicator measured."""
        names = sorted({i.name for d in self.images for i in d.indicators}, key=indicator_order)
        return {n: sum(1 for d in self.images if (i := d.get(n)) is not None and i.fired) for n in names}

    def fired(self) -> list[Indicator]:
        """The summarised indicators that fired, worst first."""
        return sorted((i for i in self.summary if i.fired), key=lambda i: (-i.level.rank, indicator_order(i.name)))

    @property
    def level(self) -> Level:
        levels = [i.level for i in self.summary]
        return max(levels, key=lambda lv: lv.rank) if levels else Level.SKIPPED

    def fixes(self) -> list[Fix]:
        """The distinct applicable fixes of the fired indicators, worst first."""
        seen, out = set(), []
        for indicator in self.fired():
            fix = indicator.fix
            if fix is not None and fix.applicable:
                key = repr(sorted(fix.changes.items(), key=lambda kv: kv[0]))
                if key not in seen:
                    seen.add(key)
                    out.append(fix)
        return out

    def lines(self) -> list[str]:
        """Plain text for a terminal: one line per fired indicator with its fix, or that none fired."""
        fired = self.fired()
        if not fired:
            measured = [i for i in self.summary if i.level is not Level.SKIPPED]
            return [f"none of the {len(measured)} indicators of attack failure checked fired"] if measured else []
        out = []
        for i in fired:
            value = f" [{i.value_text}]" if i.value_text else ""
            out.append(f"{i.level.value.upper()} {i.title}{value}: {i.sentence}")
            if i.fix is not None:
                advice = f" {i.fix.advice}" if i.fix.advice else ""
                change = f" ({change_text(i.fix.changes)})" if i.fix.changes else ""
                out.append(f"     fix: {i.fix.title}{change}.{advice}")
        return out

    def to_dict(self) -> dict:
        return {"attack": self.attack, "norm": self.norm, "level": self.level.value,
                "summary": [i.to_dict() for i in self.summary], "counts": self.counts(),
                "images": [d.to_dict() for d in self.images], "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, data: dict) -> RunDiagnosis:
        return cls(str(data.get("attack", "")), str(data.get("norm", "")),
                   [ImageDiagnosis.from_dict(d) for d in data.get("images", [])], list(data.get("notes", [])))


def change_text(changes: dict) -> str:
    """'attack=apgd-dlr, steps=80': a fix's changes the way the CLI spells them."""
    parts = []
    for key, value in changes.items():
        if key == "params":
            parts += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in dict(value).items()]
        elif value is None:
            parts.append(f"{key}=default")
        else:
            parts.append(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def count_images(diagnoses: list[RunDiagnosis]) -> dict[str, int]:
    """Summed per-indicator image counts over several runs (the points of a sweep, the cells of a lab)."""
    total: dict[str, int] = {}
    for d in diagnoses:
        for name, n in d.counts().items():
            total[name] = total.get(name, 0) + n
    return dict(sorted(total.items(), key=lambda kv: indicator_order(kv[0])))
