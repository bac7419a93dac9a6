"""Run configurations: dataclasses that round-trip through JSON, shared by the GUI, the CLI and run records."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from fractions import Fraction

from .errors import ConfigError
from .norms import check_norm


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


@dataclass
class AttackConfig:
    """One attack's settings. `eps` and `step_size` are in pixel units of [0, 1] images."""

    attack: str = "pgd"
    norm: str = "linf"
    eps: float = 8 / 255
    steps: int = 20
    step_size: float | None = None  # None: 2.5 * eps / steps (Madry et al.), eps for FGSM
    random_start: bool = True
    target: int | None = None  # None: untargeted
    seed: int = 0
    early_stop: bool = False  # stop updating an image once it is adversarial
    restarts: int = 1  # run the attack this many times from new random starts, keep the best
    params: dict[str, float] = field(default_factory=dict)  # attack-specific settings (see AttackSpec.params)

    def validated(self) -> AttackConfig:
        """A copy with checked and normalised fields; raises ConfigError with a plain message."""
        from .attacks import attack_names, attack_spec

        name = self.attack.lower()
        if name not in attack_names():
            raise ConfigError(f"unknown attack '{self.attack}': choose one of {', '.join(attack_names())}")
        norm = check_norm(self.norm)
        spec = attack_spec(name)
        if norm not in spec.norms:
            raise ConfigError(f"{spec.title} supports {', '.join(spec.norms)}, not {norm}")
        if not math.isfinite(self.eps) or self.eps < 0:
            raise ConfigError(f"epsilon must be >= 0, got {self.eps}")
        if norm == "linf" and self.eps > 1:
            raise ConfigError(f"an Linf epsilon above 1 means nothing for [0,1] images, got {self.eps}")
        if int(self.steps) < 1:
            raise ConfigError(f"steps must be at least 1, got {self.steps}")
        if self.step_size is not None and (not math.isfinite(self.step_size) or self.step_size < 0):
            raise ConfigError(f"step size must be >= 0, got {self.step_size}")
        if self.target is not None and int(self.target) < 0:
            raise ConfigError(f"target class must be >= 0, got {self.target}")
        if self.target is not None and not spec.targeted:
            raise ConfigError(f"{spec.title} is untargeted only: clear the target class")
        if int(self.restarts) < 1:
            raise ConfigError(f"restarts must be at least 1, got {self.restarts}")
        params = {}
        for key, value in self.params.items():
            if key not in spec.params:
                known = ", ".join(spec.params) or "none"
                raise ConfigError(f"{spec.title} has no setting '{key}' (its settings: {known})")
            p = spec.params[key]
            if not (math.isfinite(float(value)) and p.minimum <= float(value) <= p.maximum):
                raise ConfigError(f"{spec.title} setting '{key}' must be in [{p.minimum}, {p.maximum}], got {value}")
            params[key] = int(value) if p.integer else float(value)
        return replace(self, attack=name, norm=norm, steps=int(self.steps), seed=int(self.seed),
                       target=None if self.target is None else int(self.target), restarts=int(self.restarts),
                       params=params)

    @property
    def effective_step_size(self) -> float:
        if self.step_size is not None:
            return float(self.step_size)
        return 2.5 * self.eps / self.steps

    @property
    def is_minimal(self) -> bool:
        """A minimal-norm attack: eps is not a budget, the attack looks for the smallest perturbation."""
        from .attacks import attack_spec

        return attack_spec(self.attack).kind == "minimal"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["params"] = dict(self.params)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> AttackConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown attack settings: {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass
class RunConfig:
    """What a run attacks and where: model, image, resolution, device, plus the attack settings."""

    model: str = "demo"
    image: str = "sample:star"
    resolution: int | None = 64  # None: the image's own size
    resample_filter: str = "area"
    device: str = "auto"
    attack: AttackConfig = field(default_factory=AttackConfig)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["attack"] = self.attack.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        data = dict(data)
        attack = AttackConfig.from_dict(data.pop("attack", {}))
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown run settings: {', '.join(sorted(unknown))}")
        return cls(attack=attack, **data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            return cls.from_dict(json.loads(text))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"not a valid run configuration: {exc}") from exc
