"""The attack catalogue's implementations: every attack is step-wise and shares one protocol (see `base`).

What each attack is called and which settings it takes lives in `engine/catalogue.py` (torch-free);
here each name maps to the class that runs it.
"""

from __future__ import annotations

from ..catalogue import AttackSpec, attack_names, attack_spec, check_attack, planned_steps
from ..config import AttackConfig
from .apgd import ApgdAttack, ApgdDlrAttack
from .base import Attack, AttackResult, AttackRun, Restarted, Step
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


def build_attack(config: AttackConfig, fast: bool = False) -> Attack:
    """The attack for a config already checked by `check_attack`, wrapped for restarts when asked;
    `fast` replays a compiled step where the attack has one (`Attack.has_fast_step`)."""
    attack = ATTACKS[config.attack](config, fast=fast)
    return Restarted(attack) if config.restarts > 1 else attack


def make_attack(config: AttackConfig) -> Attack:
    """The attack for a config: checked against its spec, then built."""
    return build_attack(check_attack(config))


__all__ = ["ATTACKS", "Attack", "AttackResult", "AttackRun", "AttackSpec", "Step", "attack_names",
           "attack_spec", "build_attack", "check_attack", "make_attack", "planned_steps"]
