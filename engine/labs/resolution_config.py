"""What one run of the Resolution lab measures: a dataclass that round-trips through JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from ..errors import ConfigError

DEFAULT_RESOLUTIONS = (16, 24, 32, 48, 64, 96, 128, 192, 256)
CPU_RESOLUTIONS = (16, 24, 32, 48, 64, 96, 128)
ATTACKS = ("fmn", "deepfool", "pgd-bisect")
CONDITIONS = ("native", "nearest-upsampled")
PGD_BISECT_SEARCHES = 10  # budgets per image; each runs steps // 5 PGD steps, so the lab's steps stay comparable


def _model_lists(models: dict) -> dict[int, list[str]]:
    """{size: [model, ...]} from {size: model} or {size: [models]} (JSON keys are strings)."""
    try:
        return {int(k): [str(v)] if isinstance(v, str) else [str(m) for m in v] for k, v in models.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError("per-resolution models must map whole-number sizes to model names") from exc


@dataclass
class ResolutionLabConfig:
    """What to measure. `models` is the per-resolution control: at each size, the models trained at that
    size (one per training seed; the k-th model of every size forms replicate k)."""

    images: str = "demo:32"  # demo:N, a folder, or sample:NAME
    model: str = "demo"  # the single model seeing every resolution (unused when `models` is given)
    models: dict[int, list[str]] = field(default_factory=dict)
    resolutions: list[int] = field(default_factory=lambda: list(CPU_RESOLUTIONS))
    attack: str = "fmn"  # fmn | deepfool | pgd-bisect
    norms: list[str] = field(default_factory=lambda: ["l2", "linf"])
    steps: int = 100
    condition: str = "native"  # native | nearest-upsampled (a control: adds no detail)
    seed: int = 0
    batch: int = 32
    bootstrap: int = 1000
    convergence_images: int = 8  # re-run this many images with twice the steps at the end sizes; 0: off
    device: str = "auto"

    def validated(self) -> ResolutionLabConfig:
        if self.attack not in ATTACKS:
            raise ConfigError(f"unknown lab attack '{self.attack}': choose one of {', '.join(ATTACKS)}")
        if self.condition not in CONDITIONS:
            raise ConfigError(f"unknown condition '{self.condition}': choose one of {', '.join(CONDITIONS)}")
        bad = [n for n in self.norms if n not in ("l2", "linf")]
        if bad or not self.norms:
            raise ConfigError("norms must be l2 and/or linf")
        res = sorted({int(r) for r in self.resolutions})
        if len(res) < 2 or res[0] < 8 or res[-1] > 1024:
            raise ConfigError("give at least two resolutions between 8 and 1024 pixels")
        if self.steps < 1:
            raise ConfigError("steps must be at least 1")
        if self.convergence_images < 0:
            raise ConfigError("convergence images must be 0 (off) or more")
        models = {k: v for k, v in _model_lists(self.models).items() if v}
        if models and len([r for r in res if r in models]) < 2:
            raise ConfigError(f"per-resolution models cover {sorted(models)} px: give at least two of those "
                              "resolutions")
        return ResolutionLabConfig(**(asdict(self) | {"resolutions": res, "models": models}))

    @property
    def per_resolution(self) -> bool:
        """Each resolution attacked on the models trained at that size (the control), not one model for all."""
        return bool(self.models)

    @property
    def replicates(self) -> int:
        """Training seeds per size in the control (1 for one model)."""
        return max((len(v) for v in _model_lists(self.models).values()), default=1)

    def with_control_models(self) -> ResolutionLabConfig:
        """This config in per-resolution mode on the bundled control models (every seed at every size)."""
        from . import control_models_for_lab  # the model registry loads torch: only when asked

        found = control_models_for_lab()
        if not found:
            raise ConfigError("no per-resolution control models are installed (advlens train-demo --controls)")
        return ResolutionLabConfig(**(asdict(self) | {"models": found}))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ResolutionLabConfig:
        known = {f.name for f in fields(cls)}
        config = cls(**{k: v for k, v in data.items() if k in known})
        config.models = _model_lists(config.models or {})
        return config
