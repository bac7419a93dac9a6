"""The attack catalogue: what each attack is called, its norms, kind and settings, and how a config is
checked against it. Torch-free, so the GUI process builds its controls from it without torch; the
attacks themselves (engine/attacks/) each point at their entry here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum

from .config import AttackConfig
from .errors import ConfigError
from .units import check_norm


class AttackKind(str, Enum):
    """Foolbox's split: find an adversarial inside a budget, or find the smallest perturbation."""

    FIXED_BUDGET = "fixed"
    MINIMAL_NORM = "minimal"


@dataclass(frozen=True)
class AttackParam:
    """An attack-specific setting: its default, bounds and a one-sentence explanation."""

    default: float
    minimum: float
    maximum: float
    help: str
    integer: bool = False
    norms: tuple[str, ...] = ()  # the norms it applies to; empty: all


@dataclass(frozen=True)
class AttackSpec:
    """What the GUI and CLI need to know to offer an attack, and the one check of its config.

    kind FIXED_BUDGET: find an adversarial inside the eps-ball (success rate at a budget).
    kind MINIMAL_NORM: find the smallest adversarial perturbation (eps is not a constraint).
    A black-box attack reads only the model's scores (`needs_gradients` False).
    """

    name: str
    title: str
    norms: tuple[str, ...]
    description: str
    kind: AttackKind = AttackKind.FIXED_BUDGET
    uses_steps: bool = True
    uses_step_size: bool = True
    uses_random_start: bool = True
    targeted: bool = True
    needs_gradients: bool = True
    params: dict[str, AttackParam] = field(default_factory=dict)
    # the steps the CLI and the GUI start this attack at: a minimal-norm search needs more than PGD's 20
    # to end near the boundary (CW at 20 steps per c stage left 1 of 16 demo scenes unfooled and the
    # median L2 11% above its 100-step value; FMN and DeepFool follow their papers' and libraries' defaults)
    default_steps: int = 20

    @property
    def is_minimal(self) -> bool:
        return self.kind is AttackKind.MINIMAL_NORM

    @property
    def black_box(self) -> bool:
        return not self.needs_gradients

    def check(self, config: AttackConfig) -> AttackConfig:
        """A copy of `config` with checked and normalised fields; ConfigError with a plain message."""
        norm = check_norm(config.norm)
        if norm not in self.norms:
            raise ConfigError(f"{self.title} supports {', '.join(self.norms)}, not {norm}")
        if not math.isfinite(config.eps) or config.eps < 0:
            raise ConfigError(f"epsilon must be >= 0, got {config.eps}")
        if norm == "linf" and config.eps > 1:
            raise ConfigError(f"an Linf epsilon above 1 means nothing for [0,1] images, got {config.eps}")
        if int(config.steps) < 1:
            raise ConfigError(f"steps must be at least 1, got {config.steps}")
        if config.step_size is not None and (not math.isfinite(config.step_size) or config.step_size < 0):
            raise ConfigError(f"step size must be >= 0, got {config.step_size}")
        if config.target is not None and int(config.target) < 0:
            raise ConfigError(f"target class must be >= 0, got {config.target}")
        if config.target is not None and not self.targeted:
            raise ConfigError(f"{self.title} is untargeted only: clear the target class")
        if int(config.restarts) < 1:
            raise ConfigError(f"restarts must be at least 1, got {config.restarts}")
        params = {}
        for key, value in config.params.items():
            if key not in self.params:
                known = ", ".join(self.params) or "none"
                raise ConfigError(f"{self.title} has no setting '{key}' (its settings: {known})")
            p = self.params[key]
            if not (math.isfinite(float(value)) and p.minimum <= float(value) <= p.maximum):
                raise ConfigError(f"{self.title} setting '{key}' must be in [{p.minimum}, {p.maximum}], got {value}")
            params[key] = int(value) if p.integer else float(value)
        return replace(config, attack=self.name, norm=norm, steps=int(config.steps), seed=int(config.seed),
                       target=None if config.target is None else int(config.target),
                       restarts=int(config.restarts), params=params)

    def param_value(self, config: AttackConfig, name: str) -> float:
        """An attack-specific setting from the config, else its default."""
        p = self.params[name]
        value = config.params.get(name, p.default)
        return int(value) if p.integer else float(value)

    def planned_steps(self, config: AttackConfig) -> int:
        """How many iterations a run will take at most (for progress bars)."""
        per_run = config.steps if self.uses_steps else 1
        if "binary_steps" in self.params:
            per_run *= int(self.param_value(config, "binary_steps"))
        return per_run * max(1, int(config.restarts))


FGSM = AttackSpec(
    name="fgsm",
    title="FGSM",
    norms=("linf", "l2"),
    description="Fast gradient sign method: a single gradient step of the full budget.",
    uses_steps=False,
    uses_step_size=False,
    uses_random_start=False,
)

PGD = AttackSpec(
    name="pgd",
    title="PGD",
    norms=("linf", "l2", "l1"),
    description="Projected gradient descent: repeated gradient steps, projected back into the budget.",
    params={"l1_fraction": AttackParam(0.01, 1e-4, 1.0, "Share of the largest gradient entries each L1 "
                                       "step changes (sparse L1 descent).", norms=("l1",))},
)

BIM = AttackSpec(
    name="bim",
    title="BIM",
    norms=("linf", "l2"),
    description="Basic iterative method: PGD from the image itself, step size eps/steps.",
    uses_random_start=False,
)

MI_FGSM = AttackSpec(
    name="mifgsm",
    title="MI-FGSM",
    norms=("linf", "l2"),
    description="Momentum iterative FGSM: gradient steps with momentum, which also transfer better.",
    uses_random_start=False,
    params={"decay": AttackParam(1.0, 0.0, 10.0, "Momentum decay factor mu (1.0 in the paper).")},
)

APGD_CE = AttackSpec(
    name="apgd-ce",
    title="APGD-CE",
    norms=("linf", "l2"),
    description="Auto-PGD with cross-entropy: momentum and a self-tuning step size, no step size to pick.",
    uses_step_size=False,
    uses_random_start=False,
    params={"rho": AttackParam(0.75, 0.0, 1.0, "Halve the step when fewer than this share of steps "
                               "since the last checkpoint raised the loss.")},
)

APGD_DLR = AttackSpec(
    name="apgd-dlr",
    title="APGD-DLR",
    norms=("linf", "l2"),
    description="Auto-PGD with the DLR loss, which ignores the scale of the logits (beats gradient masking).",
    uses_step_size=False,
    uses_random_start=False,
    params=APGD_CE.params,
)

DEEPFOOL = AttackSpec(
    name="deepfool",
    title="DeepFool",
    norms=("l2", "linf"),
    description="DeepFool: steps to the nearest boundary of a linearised model; small perturbations, fast.",
    kind=AttackKind.MINIMAL_NORM,
    uses_step_size=False,
    uses_random_start=False,
    targeted=False,
    params={
        "overshoot": AttackParam(0.02, 0.0, 1.0, "Go this fraction beyond the estimated boundary."),
        "candidates": AttackParam(10, 2, 1000, "How many of the most likely classes to consider.", integer=True),
    },
    default_steps=50,
)

CW_L2 = AttackSpec(
    name="cw",
    title="Carlini-Wagner L2",
    norms=("l2",),
    description="Carlini-Wagner L2: optimises the smallest L2 change that fools the model, searching the "
                "trade-off constant c.",
    kind=AttackKind.MINIMAL_NORM,
    uses_random_start=False,
    params={
        "c": AttackParam(1.0, 1e-6, 1e6, "Initial trade-off constant c between distance and misclassification."),
        "kappa": AttackParam(0.0, 0.0, 100.0, "Confidence: how far past the boundary (in logits) to go."),
        "binary_steps": AttackParam(5, 1, 20, "Stages of the binary search over c.", integer=True),
    },
    default_steps=100,
)

FMN = AttackSpec(
    name="fmn",
    title="FMN",
    norms=("l2", "linf"),
    description="Fast minimum-norm: finds the smallest perturbation that fools the model, in L2 or Linf.",
    kind=AttackKind.MINIMAL_NORM,
    uses_random_start=False,
    params={
        "gamma": AttackParam(0.05, 1e-4, 1.0, "How fast the radius grows or shrinks at first (annealed)."),
    },
    default_steps=100,
)

PGD_BISECT = AttackSpec(
    name="pgd-bisect",
    title="PGD + bisection",
    norms=("l2", "linf", "l1"),
    description="Minimal norm by bisection over each image's budget: PGD on the logit gap at every budget, "
                "the smallest adversarial kept.",
    kind=AttackKind.MINIMAL_NORM,
    uses_step_size=False,
    uses_random_start=False,
    params={
        "binary_steps": AttackParam(10, 1, 40, "Budgets tried per image (bisection steps); each runs PGD for "
                                    "the configured number of steps.", integer=True),
        "l1_fraction": PGD.params["l1_fraction"],
    },
)

SQUARE = AttackSpec(
    name="square",
    title="Square (black-box)",
    norms=("linf",),
    description="Square attack: random square patches, kept if they help; needs only the model's scores.",
    uses_step_size=False,
    uses_random_start=False,
    needs_gradients=False,
    params={"p_init": AttackParam(0.8, 0.001, 1.0, "Share of the image the first squares cover.")},
)


SPECS: dict[str, AttackSpec] = {
    spec.name: spec for spec in (FGSM, PGD, BIM, MI_FGSM, APGD_CE, APGD_DLR, DEEPFOOL, CW_L2, FMN, PGD_BISECT,
                                 SQUARE)
}


def attack_names() -> list[str]:
    return list(SPECS)


def attack_spec(name: str) -> AttackSpec:
    """The catalogue entry of an attack by name ('PGD' and 'pgd' alike); ConfigError if unknown."""
    key = str(name).lower()
    if key not in SPECS:
        raise ConfigError(f"unknown attack '{name}': choose one of {', '.join(SPECS)}")
    return SPECS[key]


def check_attack(config: AttackConfig) -> AttackConfig:
    """The config checked against its attack's spec (the one validation every run goes through)."""
    return attack_spec(config.attack).check(config)


def planned_steps(config: AttackConfig) -> int:
    """How many iterations a run of `config` will take at most (for progress bars)."""
    return attack_spec(config.attack).planned_steps(config)


def black_box_titles() -> list[str]:
    """Titles of the attacks that need no gradients (offered for models that give none)."""
    return [spec.title for spec in SPECS.values() if spec.black_box]


def gradients_refusal(attack: str, model_title: str, model_kind: str, gradients_available: bool) -> str | None:
    """Why a gradient attack cannot run on a model without gradients (ONNX in onnxruntime), or None.

    Plain values in, one line out: the engine refuses the run with it and the GUI process, which
    knows the model only by its description, refuses it before asking the engine.
    """
    if gradients_available or not attack_spec(attack).needs_gradients:
        return None
    black_box = black_box_titles()
    choice = f"choose a black-box attack ({', '.join(black_box)})" if black_box else "no black-box attack exists yet"
    why = "is an ONNX model run by onnxruntime, which gives none" if model_kind == "onnx" else "gives none"
    return f"{attack_spec(attack).title} needs the model's gradients, but {model_title} {why}: {choice}"

