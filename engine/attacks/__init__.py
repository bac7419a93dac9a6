"""The attack catalogue: every attack is step-wise and shares one protocol (see `base`)."""

from __future__ import annotations

from ..config import AttackConfig
from ..errors import ConfigError
from .apgd import ApgdAttack, ApgdDlrAttack
from .base import Attack, AttackResult, AttackRun, AttackSpec, Restarted, Step
from .cw import CarliniWagnerL2Attack
from .deepfool import DeepFoolAttack
from .fmn import FmnAttack
from .pgd import BimAttack, FgsmAttack, MiFgsmAttack, PgdAttack
from .square import SquareAttack

ATTACKS: dict[str, type[Attack]] = {
    cls.spec.name: cls
    for cls in (FgsmAttack, PgdAttack, BimAttack, MiFgsmAttack, ApgdAttack, ApgdDlrAttack, DeepFoolAttack,
                CarliniWagnerL2Attack, FmnAttack, SquareAttack)
}


def attack_names() -> list[str]:
    return list(ATTACKS)


def attack_spec(name: str) -> AttackSpec:
    if name not in ATTACKS:
        raise ConfigError(f"unknown attack '{name}': choose one of {', '.join(ATTACKS)}")
    return ATTACKS[name].spec


def make_attack(config: AttackConfig) -> Attack:
    """The attack for a config (validated), wrapped for random restarts when asked."""
    config = config.validated()
    attack = ATTACKS[config.attack](config)
    return Restarted(attack) if config.restarts > 1 else attack


def planned_steps(config: AttackConfig) -> int:
    """How many iterations a run will take at most (for progress bars)."""
    spec = attack_spec(config.attack)
    per_run = 1 if not spec.uses_steps else config.steps
    if spec.name == "cw":
        per_run *= int(config.params.get("binary_steps", spec.params["binary_steps"].default))
    return per_run * max(1, config.restarts)


__all__ = ["ATTACKS", "Attack", "AttackResult", "AttackRun", "AttackSpec", "Step", "attack_names",
           "attack_spec", "make_attack", "planned_steps"]
