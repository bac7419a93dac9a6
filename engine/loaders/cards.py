"""Model cards: what a person must say about a model (labels, normalisation, input size), read and checked.

A card is JSON or TOML beside the model file (same stem), a file given explicitly, or plain data from a
dialog or remembered settings; every way in ends in `validate_card`, so a bad card is one line.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch
from torch import nn

from ..config import FILTERS
from ..errors import ModelLoadError, first_error_line
from ..files import read_file
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


MAX_CARD_BYTES = 16 << 20  # a card with every ImageNet-21k label inline is under 1 MB
MAX_LABELS_BYTES = 4 << 20  # a labels file beside a card
MAX_CLASSES = 1_000_000
MAX_LABEL_CHARS = 1000
MEAN_RANGE = (-1000.0, 1000.0)  # wide enough for models that take 0-255 pixels (mean 123.7)
STD_RANGE = (1e-3, 1000.0)  # 1e-300 would divide images into infinities and every attack would fail at step 0


def _card_text(path: Path) -> str:
    data = read_file(path, "a model card", ModelLoadError, label=f"model card {path}", max_bytes=MAX_CARD_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"cannot read model card {path.name}: it is not UTF-8 text") from exc


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as exc:
            raise ModelLoadError(f"model card {path.name}: TOML cards need Python 3.11+ or the tomli package") from exc
    try:
        return tomllib.loads(_card_text(path))
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ModelLoadError(f"cannot read model card {path.name}: {first_error_line(exc)}") from exc


def read_card(path: str | os.PathLike) -> ModelCard:
    """A model card from JSON or TOML; `labels` may be a list, "imagenet", or a text file beside the card."""
    path = Path(path)
    if path.suffix.lower() == ".toml":
        data = _read_toml(path)
    else:
        try:
            data = json.loads(_card_text(path))
        except (ValueError, RecursionError) as exc:
            raise ModelLoadError(f"cannot read model card {path.name}: {first_error_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"model card {path.name} must be an object of fields (name, labels, mean, std, ...)")
    return card_from_dict(data, where=path.name, base=path.parent)


def read_labels_file(name: str, base: Path | None, where: str) -> list[str]:
    """Class names from a text file that is a regular file inside the card's folder, at most a few MB.

    A card is shared with a model, so its `labels` must not reach other files (`../../etc/passwd` would
    print and save another file's lines) nor special ones (`/dev/zero` reads forever).
    """
    if base is None:
        raise ModelLoadError(f"{where}: 'labels' names a file ({name[:80]}), which only a card file beside it can "
                             f"do; give the class names as a list")
    folder = Path(os.path.realpath(base))
    path = Path(os.path.realpath(folder / name))
    if os.path.isabs(name) or (path != folder and folder not in path.parents):
        raise ModelLoadError(f"{where}: the labels file must be inside the card's folder, not {name[:80]}")
    data = read_file(path, "a labels file", ModelLoadError, label=f"{where}: labels file {name[:80]}",
                     max_bytes=MAX_LABELS_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelLoadError(f"{where}: labels file {name[:80]} is not UTF-8 text") from exc
    return [line.strip() for line in text.splitlines() if line.strip()]


def card_from_dict(data: dict, where: str = "model card", base: Path | None = None) -> ModelCard:
    """A checked card from plain data (a card file, a dialog, remembered settings)."""
    if not isinstance(data, dict):
        raise ModelLoadError(f"{where} must be an object of fields (name, labels, mean, std, ...)")
    data = dict(data)
    labels = data.get("labels")
    if isinstance(labels, str):
        data["labels"] = imagenet_labels() if labels.lower() == "imagenet" else read_labels_file(labels, base, where)
    elif labels is None and "num_classes" in data:
        count = data["num_classes"]
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_CLASSES:
            raise ModelLoadError(f"{where}: 'num_classes' must be a whole number from 1 to {MAX_CLASSES}, "
                                 f"got {str(count)[:40]}")
        data["labels"] = numbered_labels(count)
    data.setdefault("name", Path(where).stem if where.endswith(CARD_SUFFIXES) else "model")
    try:
        card = ModelCard.from_dict(data)
    except TypeError as exc:
        raise ModelLoadError(f"{where}: needs at least 'name' and 'labels' ({first_error_line(exc)})") from exc
    return validate_card(card, where)


def _real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_card(card: ModelCard, where: str = "model card") -> ModelCard:
    """The card schema: one plain message for the first thing wrong with a card (types, ranges, sizes)."""
    if not isinstance(card.name, str) or not card.name.strip() or len(card.name) > MAX_LABEL_CHARS:
        raise ModelLoadError(f"{where}: 'name' must be a short text")
    if (not isinstance(card.labels, list) or not card.labels or len(card.labels) > MAX_CLASSES
            or not all(isinstance(x, str) and len(x) <= MAX_LABEL_CHARS for x in card.labels)):
        raise ModelLoadError(f"{where}: 'labels' must be a non-empty list of class names (or \"imagenet\")")
    for key in ("mean", "std"):
        values = getattr(card, key)
        if not isinstance(values, list) or not values or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                                                 for v in values):
            raise ModelLoadError(f"{where}: '{key}' must be a list of numbers, one per colour channel")
    if len(card.mean) != len(card.std):
        raise ModelLoadError(f"{where}: 'mean' and 'std' must have one number per channel each "
                             f"(got {len(card.mean)} and {len(card.std)})")
    if len(card.mean) not in (1, 3):
        raise ModelLoadError(f"{where}: 'mean' and 'std' must have 1 (grey) or 3 (colour) numbers, "
                             f"got {len(card.mean)}")
    if any(_real(v) and v <= 0 for v in card.std):
        raise ModelLoadError(f"{where}: every 'std' value must be above 0")
    for key, (lo, hi) in (("mean", MEAN_RANGE), ("std", STD_RANGE)):
        values = getattr(card, key)
        if not all(_real(v) and lo <= v <= hi for v in values):
            raise ModelLoadError(f"{where}: every '{key}' value must be a finite number from {lo:g} to {hi:g}, "
                                 f"got {values}")
    size = card.input_size
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_INPUT_SIZE):
        raise ModelLoadError(f"{where}: 'input_size' must be a whole number of pixels (1-{MAX_INPUT_SIZE}) "
                             f"or null for any size")
    for key in ("title", "architecture", "description"):
        if not isinstance(getattr(card, key), str):
            raise ModelLoadError(f"{where}: '{key}' must be text")
    if not isinstance(card.architecture_args, dict):
        raise ModelLoadError(f"{where}: 'architecture_args' must be an object")
    if card.crop_pct is not None and not (_real(card.crop_pct) and 0.05 <= card.crop_pct <= 1.0):
        raise ModelLoadError(f"{where}: 'crop_pct' must be a number from 0.05 to 1 (the share of the resized "
                             f"short side the centre crop keeps) or null")
    if card.interpolation not in ("", *FILTERS):
        raise ModelLoadError(f"{where}: 'interpolation' must be one of {', '.join(FILTERS)}")
    if not isinstance(card.accepts_any_size, bool):
        raise ModelLoadError(f"{where}: 'accepts_any_size' must be true or false")
    if not isinstance(card.clean_accuracy, dict) or not all(_real(v) for v in card.clean_accuracy.values()):
        raise ModelLoadError(f"{where}: 'clean_accuracy' must map image sizes to accuracies")
    field = card.receptive_field_px
    if field is not None and (isinstance(field, bool) or not isinstance(field, int) or field < 1):
        raise ModelLoadError(f"{where}: 'receptive_field_px' must be a whole number of pixels")
    if not isinstance(card.train_sizes, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_INPUT_SIZE for v in card.train_sizes):
        raise ModelLoadError(f"{where}: 'train_sizes' must be a list of image sizes")
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
