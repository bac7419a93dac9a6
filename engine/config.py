"""Run configurations: dataclasses that round-trip through JSON, shared by the GUI, the CLI and run records.

Torch-free (the GUI process imports it). An attack config is checked against its attack's catalogue
entry by `catalogue.check_attack`, once per run.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from typing import Any

from .errors import ConfigError
from .units import NORMS

MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed takes a signed 64-bit seed
FILTERS: tuple[str, ...] = ("area", "bilinear", "bicubic", "lanczos", "nearest")
# How an image of another shape is fitted to a model's input size: 'crop' resizes the short side and cuts
# the centre (the libraries' resize-then-centre-crop), 'squash' resizes both sides (distorts a non-square
# photo), 'pad' resizes the long side and pads the rest with the model's mean colour; 'auto' crops where
# the model's own preprocessing does (its card's crop_pct) and squashes elsewhere.
FITS: tuple[str, ...] = ("auto", "crop", "squash", "pad")


def setting(default: Any = MISSING, help: str = "", *, flag: str | None = None, kind: str = "",
            minimum: float | None = None, maximum: float | None = None, choices: tuple[str, ...] = (),
            factory: Any = MISSING) -> Any:
    """A config field described once: its help text, command-line flag, value kind and range.

    The CLI builds its flags from these (`advlens attack --help` shows the same words), the GUI's
    controls are checked against the fields, and run records store the dataclass as JSON.
    kind: '' (plain type), 'budget' (8/255, 0.5), 'resolution' (N or 'native'), 'switch' (a flag
    that sets True), 'negated' (a --no-… flag that sets False), 'params' (NAME=VALUE, repeatable).
    """
    metadata = {"help": help, "flag": flag, "kind": kind, "minimum": minimum, "maximum": maximum,
                "choices": choices}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16")


@dataclass
class AttackConfig:
    """One attack's settings. `eps` and `step_size` are in pixel units of [0, 1] images."""

    attack: str = setting("pgd", "attack name (see 'advlens attacks')")
    norm: str = setting("linf", "perturbation norm", choices=NORMS)
    eps: float = setting(8 / 255, "budget in pixel units of [0, 1] images: 8/255 (Linf), 0.5 (L2) ...", kind="budget",
                         minimum=0.0)
    steps: int = setting(20, "iterations", minimum=1, maximum=1_000_000)
    step_size: float | None = setting(None, "step size (default 2.5*eps/steps, Madry et al.; eps for FGSM)",
                                      kind="budget", minimum=0.0)
    random_start: bool = setting(True, "start from a random point in the budget instead of the image itself",
                                 flag="--no-random-start", kind="negated")
    target: int | None = setting(None, "target class index (a targeted attack); none: untargeted", minimum=0)
    seed: int = setting(0, "random seed (random start, restarts)", minimum=0, maximum=MAX_SEED)
    early_stop: bool = setting(False, "stop updating an image once it is adversarial", kind="switch")
    restarts: int = setting(1, "run again from new random starts and keep the best", minimum=1, maximum=10_000)
    params: dict[str, float] = setting(help="attack-specific setting, e.g. --param decay=1.0 (see 'advlens attacks')",
                                       flag="--param", kind="params", factory=dict)

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

    model: str = setting("demo", "bundled model ('demo'), torchvision:NAME, timm:NAME, or a model file "
                         "(.safetensors, .pt/.pth state dict, TorchScript, .pt2, .onnx) with a card beside it")
    image: str = setting("sample:star", "image file or sample:NAME (see 'advlens samples')")
    resolution: int | None = setting(64, "resample the image to N x N first ('native' keeps its size); samples are "
                                     "drawn at N; a model with a fixed input size decides it", kind="resolution",
                                     minimum=4, maximum=4096)
    resample_filter: str = setting("area", "resampling filter", flag="--filter", choices=FILTERS)
    fit: str = setting("auto", "how a photo of another shape meets the model's input size: crop (resize, then "
                       "centre crop), squash or pad; auto crops where the model's own preprocessing does",
                       choices=FITS)
    device: str = setting("auto", "auto, cpu, cuda, cuda:N, mps")
    attack: AttackConfig = field(default_factory=AttackConfig)
    # how it computes (engine/compute.py), never what: results agree within floating-point tolerance,
    # except that bf16/fp16 change the model's numbers (the bench reports what that does to success)
    fast: bool = setting(False, "compile the attack step once and replay it (PGD, BIM, FGSM; torch.compile, CUDA "
                         "graphs on a GPU): for one image on a GPU; on a CPU it compiles for ~30 s and is no faster",
                         kind="switch")
    precision: str = setting("fp32", "run the model's forward under autocast at this precision (for batches on a GPU)",
                             choices=PRECISIONS)
    channels_last: bool = setting(False, "NHWC memory format for the model and the images (for batches on a GPU)",
                                  kind="switch")

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


def described_fields(cls: type) -> list[Field]:
    """The fields of a config class that carry a description (every one but nested configs)."""
    return [f for f in fields(cls) if f.metadata.get("help")]
