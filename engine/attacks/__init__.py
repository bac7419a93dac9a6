"""The attack catalogue: every attack is step-wise and shares one protocol (see `base`)."""

from __future__ import annotations

from ..config import AttackConfig
from ..errors import ConfigError
from .base import Attack, AttackResult, AttackRun, AttackSpec, Step
from .pgd import FgsmAttack, PgdAttack

ATTACKS: dict[str, type[Attack]] = {cls.spec.name: cls for cls in (FgsmAttack, PgdAttack)}


def attack_names() -> list[str]:
    return list(ATTACKS)


def attack_spec(name: str) -> AttackSpec:
    if name not in ATTACKS:
        raise ConfigError(f"unknown attack '{name}': choose one of {', '.join(ATTACKS)}")
    return ATTACKS[name].spec


def make_attack(config: AttackConfig) -> Attack:
    config = config.validated()
    return ATTACKS[config.attack](config)


__all__ = ["ATTACKS", "Attack", "AttackResult", "AttackRun", "AttackSpec", "Step", "attack_names",
           "attack_spec", "make_attack"]
