"""Named demo configurations for the Presets menu: data, in one place, applied like a saved session.

Design note. A preset is the part of a `RunConfig` a demo is about — model, image, resolution and the
attack — and leaves how the machine computes (device, precision) as the person set it. Each was run
through `advlens attack` with the same settings on the bundled demo model, seeds 0–3, and does what its
name says there (tests/app/test_presets.py runs them through the engine again, so a retrained demo model
that stops doing it fails a test instead of a lecture):

    PGD fools the star   --eps 8/255                          star -> cross (99.8%)
    Targeted to heart    --eps 16/255 --steps 40 --target 8   star -> heart (100%); 8/255 misses it
    L2 vs Linf           --norm l2 --eps 1.0                  star -> cross; L2 1.0 vs Linf's 3.3
    Tiny ε fails         --eps 1/255                          star stays star (99.7%)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from advlens.engine.config import AttackConfig, RunConfig


@dataclass(frozen=True)
class Preset:
    """One named demo: what to show, what the audience should see, and the settings that show it."""

    name: str
    description: str  # the menu's tooltip and the status line once applied
    expect: str  # 'fooled' (any wrong class), 'target' (the target class reached) or 'held' (the model holds)
    attack: dict = field(default_factory=dict)  # AttackConfig fields; the rest stay at AttackConfig's defaults
    model: str = "demo"
    image: str = "sample:star"
    resolution: int | None = 64
    shortcut: str = ""

    def config(self) -> RunConfig:
        """The full run configuration of this preset (device and compute settings at their defaults)."""
        return RunConfig(model=self.model, image=self.image, resolution=self.resolution,
                         attack=AttackConfig(**self.attack))


HEART = 8  # the demo model's class index of 'heart' (tests check it against the model's labels)

PRESETS: tuple[Preset, ...] = (
    Preset("PGD fools the star",
           "PGD with an Linf budget of 8/255 — a change no one in the room can see — turns the star into a cross.",
           "fooled", {"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 20}, shortcut="Ctrl+1"),
    Preset("Targeted to heart",
           "A targeted PGD: the attack must make the model say 'heart', not just anything wrong. It needs a larger "
           "budget (16/255) and more steps (40) than the untargeted one; at 8/255 it misses.",
           "target", {"attack": "pgd", "norm": "linf", "eps": 16 / 255, "steps": 40, "target": HEART},
           shortcut="Ctrl+2"),
    Preset("L2 vs Linf",
           "The same star under an L2 budget of 1.0 instead: a third of the total change the Linf run made (L2 3.3), "
           "packed into the shape's edges (up to 33/255 per pixel). Compare its perturbation with 'PGD fools the "
           "star'.", "fooled", {"attack": "pgd", "norm": "l2", "eps": 1.0, "steps": 20}, shortcut="Ctrl+3"),
    Preset("Tiny ε fails",
           "The same PGD with a budget of 1/255: too small a change, and the model still says star.",
           "held", {"attack": "pgd", "norm": "linf", "eps": 1 / 255, "steps": 20}, shortcut="Ctrl+4"),
)


def preset_named(name: str) -> Preset:
    """The preset called `name`; KeyError if there is none."""
    for preset in PRESETS:
        if preset.name == name:
            return preset
    raise KeyError(name)
