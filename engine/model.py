"""A classifier plus its preprocessing: inputs are always images in [0, 1], NCHW.

Normalisation (mean/std) happens inside the wrapper, so every attack works in pixel space and an
epsilon of 8/255 means eight grey levels, whatever the model expects.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch import nn

from .device import select_device
from .errors import ModelLoadError, ModelOutputError, first_error_line
from .images import adapt_channels


@dataclass
class ModelCard:
    """What a person needs to know to feed a model: labels, normalisation, input size, provenance."""

    name: str
    labels: list[str]
    mean: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    std: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    input_size: int | None = None  # None: any size (resolution-agnostic)
    title: str = ""
    architecture: str = ""
    architecture_args: dict = field(default_factory=dict)
    description: str = ""
    clean_accuracy: dict[str, float] = field(default_factory=dict)
    receptive_field_px: int | None = None
    train_sizes: list[int] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        known = {f.name for f in fields(cls)}
        card = cls(**{k: v for k, v in data.items() if k in known})
        card.extra = {**card.extra, **{k: v for k, v in data.items() if k not in known}}
        return card

    @classmethod
    def from_json(cls, path: Path) -> ModelCard:
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise ModelLoadError(f"cannot read model card {path}: {exc}") from exc

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def display_name(self) -> str:
        return self.title or self.name


class Model(nn.Module):
    """A torch classifier taking [0, 1] images; `forward` returns logits of shape (N, classes).

    `kind` names the format it came from (see `loaders.FORMAT_TITLES`); `notes` are the things a
    person must know about it (random weights, no gradients, grey input), said once at load time.
    """

    def __init__(self, network: nn.Module, card: ModelCard, kind: str = "torch", notes: Sequence[str] = ()):
        super().__init__()
        self.network = network.eval()
        self.card = card
        self.kind = kind
        self.notes = list(notes)
        channels = len(card.mean)
        self.register_buffer("mean", torch.tensor(card.mean, dtype=torch.float32).reshape(1, channels, 1, 1))
        self.register_buffer("std", torch.tensor(card.std, dtype=torch.float32).reshape(1, channels, 1, 1))
        for p in self.network.parameters():
            p.requires_grad_(False)
        self.eval()  # inference only: libraries that check `model.training` see an eval-mode model

    @property
    def labels(self) -> list[str]:
        return self.card.labels

    @property
    def num_classes(self) -> int:
        return len(self.card.labels)

    @property
    def input_size(self) -> int | None:
        return self.card.input_size

    @property
    def device(self) -> torch.device:
        return self.mean.device

    @property
    def input_channels(self) -> int:
        return int(self.mean.shape[1])

    @property
    def gradients_available(self) -> bool:
        """False for a model run outside torch (ONNX in onnxruntime): only black-box attacks work on it."""
        return bool(getattr(self.network, "gradients_available", True))

    def label(self, index: int) -> str:
        return self.labels[index] if 0 <= index < len(self.labels) else f"class {index}"

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network((adapt_channels(images, self.input_channels) - self.mean) / self.std)

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities for a batch of [0, 1] images, checked to be one logit vector each."""
        logits = self.checked_logits(images)
        return logits.softmax(dim=1)

    def checked_logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits, with one clear error if the model fails or returns something that is not logits."""
        if self.input_size is not None and tuple(images.shape[-2:]) != (self.input_size, self.input_size):
            raise ModelOutputError(
                f"{self.card.display_name} expects {self.input_size}x{self.input_size} images, "
                f"got {images.shape[-1]}x{images.shape[-2]}"
            )
        try:
            logits = self(images)
        except torch.cuda.OutOfMemoryError as exc:
            torch.cuda.empty_cache()
            raise ModelOutputError(f"out of GPU memory running {self.card.display_name} on "
                                   f"{images.shape[-1]}x{images.shape[-2]} images: try a smaller resolution "
                                   f"or batch, or the CPU") from exc
        except (RuntimeError, ValueError, TypeError, IndexError, AssertionError, NotImplementedError,
                torch.jit.Error) as exc:
            first = first_error_line(exc)
            raise ModelOutputError(f"{self.card.display_name} failed on the input: {first}") from exc
        if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or logits.shape[0] != images.shape[0]:
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
            raise ModelOutputError(
                f"{self.card.display_name} must return one logit vector per image, shape (N, classes); got {shape}"
            )
        if logits.shape[1] != self.num_classes:
            raise ModelOutputError(
                f"{self.card.display_name} returns {logits.shape[1]} scores but its card names {self.num_classes} labels"
            )
        return logits


def _resources_models_dir() -> Path:
    from .. import resources

    return Path(resources.__file__).resolve().parent / "models"


ARCHITECTURES: dict[str, type] = {}


def _register_builtin_architectures() -> None:
    if ARCHITECTURES:
        return
    from .demo.net import ShapesNet

    ARCHITECTURES["advlens.shapes_cnn"] = ShapesNet


def build_architecture(name: str, args: dict) -> nn.Module:
    """A network by name with fresh weights: a built-in one, or `torchvision:NAME` / `timm:NAME`."""
    if name.startswith(("torchvision:", "timm:")):
        from .loaders import build_named_architecture

        return build_named_architecture(name, args)
    _register_builtin_architectures()
    if name not in ARCHITECTURES:
        raise ModelLoadError(f"unknown architecture '{name}' (known: {', '.join(sorted(ARCHITECTURES))})")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    try:
        return ARCHITECTURES[name](**kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"cannot build architecture '{name}' with {args}: {first_error_line(exc)}") from exc


@dataclass(frozen=True)
class BundledModel:
    """A model that ships with AdvLens and works offline."""

    name: str
    weights: Path
    card: ModelCard


DEMO_MODEL = "shapes-cnn"
MODEL_ALIASES = {"demo": DEMO_MODEL}
CONTROL_ROLE = "resolution-control"  # a card's "role": trained at one size, for the Resolution lab's control
CONTROL_ALIAS = re.compile(r"demo-r(\d+)")  # demo-r32 -> shapes-cnn-r32


def model_alias(name: str) -> str:
    """The bundled name behind an alias: 'demo' is the demo model, 'demo-rN' its control model trained at N px."""
    match = CONTROL_ALIAS.fullmatch(name)
    return f"{DEMO_MODEL}-r{match.group(1)}" if match else MODEL_ALIASES.get(name, name)


def _bundled_order(model: BundledModel) -> tuple:
    """The demo first (the Explorer's default), then other models, then control models by size."""
    control = model.card.extra.get("role") == CONTROL_ROLE
    return (model.name != DEMO_MODEL, control, min(model.card.train_sizes or [0]) if control else 0, model.name)


def bundled_models() -> list[BundledModel]:
    """Every model shipped in resources/models (a safetensors file with a JSON card beside it)."""
    folder = _resources_models_dir()
    found = []
    for weights in sorted(folder.glob("*.safetensors")):
        card_path = weights.with_suffix(".json")
        if card_path.exists():
            found.append(BundledModel(weights.stem, weights, ModelCard.from_json(card_path)))
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


def load_model(name_or_path: str | os.PathLike, device: str | torch.device | None = "auto",
               card: ModelCard | str | os.PathLike | None = None, trust_pickle: bool = False,
               onnx_runtime: bool = False) -> Model:
    """The one way to get a model: a bundled name ('demo'), `torchvision:NAME` / `timm:NAME`, or a file.

    Files: safetensors or state dicts (+ the card's architecture), TorchScript, torch.export (.pt2),
    ONNX (converted to torch by onnx2torch where it matches onnxruntime, else — or with
    `onnx_runtime=True` — run by onnxruntime, no gradients) and, only with `trust_pickle=True`,
    full pickles. The card is `card` (a ModelCard or a card file), else a JSON/TOML card beside the
    file; without one, `ModelCardMissing` carries a guess to confirm. Every model runs one test input
    before it is returned, so a model that cannot work fails here with one message (engine/loaders.py).
    """
    target = select_device(device) if not isinstance(device, torch.device) else device
    key = model_alias(str(name_or_path))
    for bundled in bundled_models():
        if bundled.name == key:
            return load_safetensors_model(bundled.weights, bundled.card).to(target)
    from .loaders import load_from_source

    return load_from_source(str(name_or_path), target, card=card, trust_pickle=trust_pickle,
                            onnx_runtime=onnx_runtime)


def load_demo_model(device: str | torch.device | None = "auto") -> Model:
    return load_model(DEMO_MODEL, device)


def topk(probs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k probabilities and class indices per image (k capped by the class count)."""
    values, indices = probs.topk(min(k, probs.shape[1]), dim=1)
    return values, indices


def labels_for(model: Model, indices: Sequence[int]) -> list[str]:
    return [model.label(int(i)) for i in indices]
