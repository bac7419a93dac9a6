"""Run configurations: dataclasses that round-trip through JSON, shared by the GUI, the CLI and run records.

Torch-free (the GUI process imports it). An attack config is checked against its attack's catalogue
entry by `catalogue.check_attack`, once per run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

from .errors import ConfigError

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")


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

    @property
    def effective_step_size(self) -> float:
        if self.step_size is not None:
            return float(self.step_size)
        return 2.5 * self.eps / self.steps

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
    # how it computes (engine/compute.py), never what: results agree within floating-point tolerance,
    # except that bf16/fp16 change the model's numbers (the bench reports what that does to success)
    fast: bool = False  # capture the attack step once and replay it (torch.compile; CUDA graphs on a GPU)
    precision: str = "fp32"  # fp32, bf16 or fp16: the model's forward under autocast (batches on a GPU)
    channels_last: bool = False  # NHWC memory format for the model and the images (batches on a GPU)

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
