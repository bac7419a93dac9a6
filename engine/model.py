"""A classifier plus its preprocessing (`Model`) and what a person must know to feed it (`ModelCard`).

Inputs are always images in [0, 1], NCHW.

Normalisation (mean/std) happens inside the wrapper, so every attack works in pixel space and an
epsilon of 8/255 means eight grey levels, whatever the model expects. Loading models from files, names
and the bundled set is the `loaders` package's job (`loaders.load_model`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
from torch import nn

from .errors import ModelLoadError, ModelOutputError, first_error_line
from .images import adapt_channels


@dataclass
class ModelCard:
    """What a person needs to know to feed a model: labels, normalisation, input size, provenance."""

    name: str
    labels: list[str]
    mean: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    std: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    input_size: int | None = None  # None: any size (resolution-agnostic); else the size it takes or was trained at
    accepts_any_size: bool = False  # input_size is its training size, but it takes any size (global pooling)
    crop_pct: float | None = None  # resize the short side to input_size / crop_pct, then centre-crop (timm, HF)
    interpolation: str = ""  # the filter its own preprocessing resizes with (bilinear, bicubic, ...); "": ours
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


def logits_of(output: object) -> object:
    """The logits inside a model's output: Hugging Face models return an object (or, traced or exported,
    a dict) whose `logits` field holds them; anything else is returned as it is, for the checks to judge."""
    if isinstance(output, torch.Tensor):
        return output
    logits = output.get("logits") if isinstance(output, dict) else getattr(output, "logits", None)
    return logits if isinstance(logits, torch.Tensor) else output


class Model(nn.Module):
    """A torch classifier taking [0, 1] images; `forward` returns logits of shape (N, classes).

    `kind` names the format it came from (see `loaders.formats.FORMAT_TITLES`); `notes` are the things a
    person must know about it (random weights, no gradients, grey input), said once at load time.
    """

    def __init__(self, network: nn.Module, card: ModelCard, kind: str = "torch", notes: Sequence[str] = ()):
        super().__init__()
        self.network = network.eval()
        self.card = card
        self.kind = kind
        self.notes = list(notes)
        self.source = None  # a model_source.ModelSource, set by `loaders.load_model`; None for a model built in code
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
    def fixed_input_size(self) -> int | None:
        """The one size the network takes, or None when it takes any (the demo, CNNs with global pooling)."""
        return None if self.card.accepts_any_size else self.card.input_size

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
        return logits_of(self.network((adapt_channels(images, self.input_channels) - self.mean) / self.std))

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Class probabilities for a batch of [0, 1] images, checked to be one logit vector each."""
        logits = self.checked_logits(images)
        return logits.softmax(dim=1)

    def checked_logits(self, images: torch.Tensor) -> torch.Tensor:
        """Logits, with one clear error if the model fails or returns something that is not logits."""
        size = self.fixed_input_size
        if size is not None and tuple(images.shape[-2:]) != (size, size):
            raise ModelOutputError(
                f"{self.card.display_name} expects {size}x{size} images, "
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
        if not logits.is_floating_point():
            raise ModelOutputError(f"{self.card.display_name} returns {str(logits.dtype).removeprefix('torch.')} scores: "
                                   f"logits must be floating-point numbers")
        if logits.shape[1] != self.num_classes:
            raise ModelOutputError(
                f"{self.card.display_name} returns {logits.shape[1]} scores but its card names {self.num_classes} labels"
            )
        return logits
