"""The models that ship with AdvLens (resources/models: safetensors weights with a JSON card beside each).

They work offline and run no code from a file: each is a built-in architecture plus its weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLoadError, first_error_line
from ..model import Model, ModelCard
from ..model_names import CONTROL_ALIAS, DEMO_MODEL, MODEL_ALIASES, bundled_models_dir, model_alias
from .architectures import build_architecture

__all__ = ["CONTROL_ALIAS", "CONTROL_ROLE", "DEMO_MODEL", "MODEL_ALIASES", "BundledModel", "bundled_models",
           "control_models", "load_safetensors_model", "model_alias"]


def _resources_models_dir() -> Path:
    return bundled_models_dir()


@dataclass(frozen=True)
class BundledModel:
    """A model that ships with AdvLens and works offline."""

    name: str
    weights: Path
    card: ModelCard


CONTROL_ROLE = "resolution-control"  # a card's "role": trained at one size, for the Resolution lab's control


def _bundled_order(model: BundledModel) -> tuple:
    """The demo first (the Explorer's default), then other models, then control models by size."""
    control = model.card.extra.get("role") == CONTROL_ROLE
    return (model.name != DEMO_MODEL, control, min(model.card.train_sizes or [0]) if control else 0, model.name)


def bundled_models() -> list[BundledModel]:
    """Every model shipped in resources/models: a safetensors file with a JSON card beside it, or a card
    whose "weights" names another bundled model's file (the broken teaching models reuse the demo's)."""
    folder = _resources_models_dir()
    found = []
    for card_path in sorted(folder.glob("*.json")):
        card = ModelCard.from_json(card_path)
        shared = card.extra.get("weights")
        weights = folder / Path(str(shared)).name if shared else card_path.with_suffix(".safetensors")
        if weights.suffix == ".safetensors" and weights.exists():
            found.append(BundledModel(card_path.stem, weights, card))
    return sorted(found, key=_bundled_order)


def control_models() -> dict[int, list[str]]:
    """The bundled per-resolution control models, {training size: [names, by training seed]}: the demo's
    network trained at one size only, so the Resolution lab can attack each size on models trained at it."""
    found: dict[int, list[tuple[int, str]]] = {}
    for m in bundled_models():
        if m.card.extra.get("role") == CONTROL_ROLE and len(set(m.card.train_sizes)) == 1:
            found.setdefault(m.card.train_sizes[0], []).append((int(m.card.extra.get("seed", 0)), m.name))
    return {size: [name for _, name in sorted(named)] for size, named in sorted(found.items())}


def load_safetensors_model(weights: Path, card: ModelCard) -> Model:
    """A known architecture from the card, with weights from a safetensors file (no code is run)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    network = build_architecture(card.architecture, card.architecture_args)
    try:
        state = load_file(str(weights))
    except (OSError, SafetensorError) as exc:
        raise ModelLoadError(f"cannot read weights {weights}: {exc}") from exc
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelLoadError(f"weights {weights.name} do not fit architecture {card.architecture}: "
                             f"{first_error_line(exc)}") from exc
    return Model(network, card, kind="safetensors")
