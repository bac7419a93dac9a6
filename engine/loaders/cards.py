"""Model cards: what a person must say about a model (labels, normalisation, input size), read and checked.

A card is JSON or TOML beside the model file (same stem), a file given explicitly, or plain data from a
dialog or remembered settings; every way in ends in `validate_card`, so a bad card is one line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelLoadError, first_error_line
from ..model import ModelCard
from .formats import (
    CARD_SUFFIXES,
    IMAGENET_MEAN,
    IMAGENET_SIZE,
    IMAGENET_STD,
    MAX_INPUT_SIZE,
    PROBE_SIZE,
    ModelFile,
)


def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names, in the standard index order (resources/labels/imagenet.txt)."""
    from ... import resources

    path = Path(resources.__file__).resolve().parent / "labels" / "imagenet.txt"
    return path.read_text(encoding="utf-8").splitlines()


def numbered_labels(count: int) -> list[str]:
    return [f"class {i}" for i in range(count)]


def file_identity(path: str | os.PathLike) -> str:
    """Path, size and modification time: remembered choices (cards, trust) stop applying when a file changes."""
    resolved = Path(path).resolve()
    stat = resolved.stat()
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}"


def find_card(path: str | os.PathLike) -> Path | None:
    """A card beside a model file: same stem with .json or .toml (`net.onnx` -> `net.json`)."""
    path = Path(path)
    for suffix in CARD_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate != path and candidate.is_file():
            return candidate
    return None


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as exc:
            raise ModelLoadError(f"model card {path.name}: TOML cards need Python 3.11+ or the tomli package") from exc
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ModelLoadError(f"cannot read model card {path.name}: {first_error_line(exc)}") from exc


def read_card(path: str | os.PathLike) -> ModelCard:
    """A model card from JSON or TOML; `labels` may be a list, "imagenet", or a text file beside the card."""
    path = Path(path)
    if path.suffix.lower() == ".toml":
        data = _read_toml(path)
    else:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ModelLoadError(f"cannot read model card {path.name}: {first_error_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"model card {path.name} must be an object of fields (name, labels, mean, std, ...)")
    return card_from_dict(data, where=path.name, base=path.parent)


def card_from_dict(data: dict, where: str = "model card", base: Path | None = None) -> ModelCard:
    """A checked card from plain data (a card file, a dialog, remembered settings)."""
    data = dict(data)
    labels = data.get("labels")
    if isinstance(labels, str):
        if labels.lower() == "imagenet":
            data["labels"] = imagenet_labels()
        else:
            label_file = (base or Path.cwd()) / labels
            try:
                data["labels"] = [line.strip() for line in label_file.read_text(encoding="utf-8").splitlines()
                                  if line.strip()]
            except (OSError, UnicodeDecodeError) as exc:
                raise ModelLoadError(f"{where}: cannot read labels file {labels}: {first_error_line(exc)}") from exc
    elif labels is None and isinstance(data.get("num_classes"), int):
        data["labels"] = numbered_labels(data["num_classes"])
    data.setdefault("name", Path(where).stem if where.endswith(CARD_SUFFIXES) else "model")
    try:
        card = ModelCard.from_dict(data)
    except TypeError as exc:
        raise ModelLoadError(f"{where}: needs at least 'name' and 'labels' ({first_error_line(exc)})") from exc
    return validate_card(card, where)


def validate_card(card: ModelCard, where: str = "model card") -> ModelCard:
    """One plain message for the first thing wrong with a card."""
    if not isinstance(card.labels, list) or not card.labels or not all(isinstance(x, str) for x in card.labels):
        raise ModelLoadError(f"{where}: 'labels' must be a non-empty list of class names (or \"imagenet\")")
    for key in ("mean", "std"):
        values = getattr(card, key)
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
            raise ModelLoadError(f"{where}: '{key}' must be a list of numbers, one per colour channel")
    if len(card.mean) != len(card.std):
        raise ModelLoadError(f"{where}: 'mean' and 'std' must have one number per channel each "
                             f"(got {len(card.mean)} and {len(card.std)})")
    if any(v <= 0 for v in card.std):
        raise ModelLoadError(f"{where}: every 'std' value must be above 0")
    size = card.input_size
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_INPUT_SIZE):
        raise ModelLoadError(f"{where}: 'input_size' must be a whole number of pixels (1-{MAX_INPUT_SIZE}) "
                             f"or null for any size")
    if not isinstance(card.architecture_args, dict):
        raise ModelLoadError(f"{where}: 'architecture_args' must be an object")
    return card



def suggest_card(path: Path, content: ModelFile) -> ModelCard:
    """A best guess at a card, for the person to confirm: classes and channels read off the model."""
    channels, classes, size = 3, None, None
    if content.input_shape is not None:
        channels = content.input_shape[1] or 3
        if content.input_shape[2] is not None and content.input_shape[2] == content.input_shape[3]:
            size = content.input_shape[2]
    if content.state_dict is not None:
        matrices = [t for t in content.state_dict.values() if t.dim() == 2]
        kernels = [t for t in content.state_dict.values() if t.dim() == 4]
        classes = int(matrices[-1].shape[0]) if matrices else None
        channels = int(kernels[0].shape[1]) if kernels else channels
    elif content.network is not None:
        if content.input_shape is None:
            kernels = [p for p in content.network.parameters() if p.dim() == 4]
            channels = int(kernels[0].shape[1]) if kernels else channels
        classes = _count_classes(content.network, channels, size)
    if classes == 1000 and size is None:
        size = IMAGENET_SIZE
    imagenet = classes == 1000 and channels == 3
    return ModelCard(
        name=path.stem,
        labels=imagenet_labels() if imagenet else numbered_labels(classes or 0),
        mean=list(IMAGENET_MEAN) if imagenet else [0.0] * channels,
        std=list(IMAGENET_STD) if imagenet else [1.0] * channels,
        input_size=size,
    )


def _count_classes(network: nn.Module, channels: int, size: int | None) -> int | None:
    for side in ([size] if size else [PROBE_SIZE, IMAGENET_SIZE]):
        try:
            with torch.no_grad():
                out = network(torch.full((1, channels, side, side), 0.5))
        except Exception:  # a guess only: the real check is the probe after the card is confirmed
            continue
        if isinstance(out, torch.Tensor) and out.dim() == 2:
            return int(out.shape[1])
    return None
