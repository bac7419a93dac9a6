"""Folders written by `save_pretrained` (Hugging Face transformers, timm) and `hf:ORG/NAME` from the local cache.

A folder holds `config.json` (the architecture, the labels, timm's pretrained_cfg) and weights; a Hugging
Face folder also holds `preprocessor_config.json` (size, mean/std, crop, interpolation). Only safetensors
weights are read: a folder with nothing but `pytorch_model.bin` (a pickle) is refused, and so is one whose
config asks for its own Python code (`auto_map`, trust_remote_code). `hf:ORG/NAME` opens the snapshot in
the local Hugging Face cache and never downloads. `transformers` and `timm` are optional: a folder that
needs one that is missing is one line saying what to install.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from torch import nn

from ..errors import ModelLoadError, first_error_line
from ..model import ModelCard
from .cards import imagenet_labels, numbered_labels
from .formats import IMAGENET_SIZE, ModelFile
from .hubs import seeded, takes_any_size, timm_card

CONFIG = "config.json"
PREPROCESSOR = "preprocessor_config.json"
SAFETENSORS = ("model.safetensors", "pytorch_model.safetensors")
PICKLED = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.pt", "pytorch_model.pt")
# Pillow's resampling numbers, as Hugging Face preprocessor configs write them.
PIL_FILTERS = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "area", 5: "bilinear"}


def is_pretrained_folder(path: Path) -> bool:
    """A folder with a config.json: a Hugging Face or timm `save_pretrained` folder (or cache snapshot)."""
    return path.is_dir() and (path / CONFIG).is_file()


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path.parent.name}/{path.name}: {first_error_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path.parent.name}/{path.name} is not a JSON object")
    return data


def _import(package: str, folder: Path):
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise ModelLoadError(f"{folder.name} is a {package} model folder: pip install {package} to open it") from exc


def _weights_file(folder: Path) -> Path:
    for name in SAFETENSORS:
        if (folder / name).is_file():
            return folder / name
    if (folder / "model.safetensors.index.json").is_file():
        return folder / "model.safetensors.index.json"
    pickled = [name for name in PICKLED if (folder / name).is_file()]
    if pickled:
        raise ModelLoadError(f"{folder.name} holds its weights only as {pickled[0]}, a Python pickle that can run "
                             f"code while it loads: AdvLens reads safetensors only (save it again with "
                             f"save_pretrained(..., safe_serialization=True))")
    raise ModelLoadError(f"{folder.name} has a config.json but no model.safetensors weights")


def read_pretrained_folder(folder: Path) -> tuple[ModelFile, ModelCard]:
    """A Hugging Face or timm folder: the network with its weights, and a card read from its configs."""
    config = _read_json(folder / CONFIG)
    if "architectures" in config or "model_type" in config:
        return _read_transformers(folder, config)
    if "architecture" in config:
        return _read_timm(folder, config)
    raise ModelLoadError(f"{folder.name}/config.json names no architecture ('architectures' for Hugging Face, "
                         f"'architecture' for timm)")


def load_hf_cached(repo: str) -> tuple[ModelFile, ModelCard]:
    """`hf:ORG/NAME`: the snapshot in the local Hugging Face cache, opened as a folder; never downloads."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError as exc:
        raise ModelLoadError("hf:ORG/NAME models need huggingface_hub: pip install huggingface_hub") from exc
    try:
        folder = Path(snapshot_download(repo, local_files_only=True))
    except LocalEntryNotFoundError as exc:
        raise ModelLoadError(f"hf:{repo} is not in the local Hugging Face cache: AdvLens never downloads while it "
                             f"runs; fetch it once with `hf download {repo}` (or pass its folder)") from exc
    except Exception as exc:  # a malformed repo id raises the hub's validation errors
        raise ModelLoadError(f"hf:{repo}: {first_error_line(exc)}") from exc
    content, card = read_pretrained_folder(folder)
    card.name, card.title = f"hf:{repo}", f"{repo} (Hugging Face)"
    return content, card


# ------------------------------------------------------------------------------------------ transformers
def _transformers_labels(config: dict) -> list[str]:
    id2label = config.get("id2label") or {}
    try:
        labels = [str(id2label[key]) for key in sorted(id2label, key=int)]
    except (ValueError, TypeError):
        labels = []
    default = all(label == f"LABEL_{i}" for i, label in enumerate(labels))
    count = len(labels) or int(config.get("num_labels") or 0)
    if not labels or default:
        return imagenet_labels() if count == 1000 else numbered_labels(count)
    return labels


def _side(value: object) -> int | None:
    """A side length from a preprocessor's size: an int, {height, width}, or {shortest_edge}."""
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        for key in ("height", "shortest_edge", "width"):
            if isinstance(value.get(key), int):
                return int(value[key])
    return None


def hf_preprocessing(folder: Path, config: dict) -> dict:
    """Size, mean/std, crop and interpolation from preprocessor_config.json (model config as fallback)."""
    pre = _read_json(folder / PREPROCESSOR) if (folder / PREPROCESSOR).is_file() else {}
    size = _side(pre.get("size"))
    crop = _side(pre.get("crop_size")) if pre.get("do_center_crop", "crop_size" in pre) else None
    crop_pct = pre.get("crop_pct")
    if crop is not None and size is not None and crop < size:
        input_size, crop_pct = crop, crop / size
    else:
        input_size = size or crop or config.get("image_size") or IMAGENET_SIZE
    if isinstance(input_size, list | tuple):
        input_size = input_size[-1]
    normalise = pre.get("do_normalize", bool(pre))
    mean = list(pre.get("image_mean") or [0.5, 0.5, 0.5]) if normalise else [0.0, 0.0, 0.0]
    std = list(pre.get("image_std") or [0.5, 0.5, 0.5]) if normalise else [1.0, 1.0, 1.0]
    channels = int(config.get("num_channels") or len(mean))
    if len(mean) != channels:
        mean, std = (mean * channels)[:channels], (std * channels)[:channels]
    return {"input_size": int(input_size), "mean": [float(v) for v in mean], "std": [float(v) for v in std],
            "crop_pct": float(crop_pct) if crop_pct and float(crop_pct) < 1 else None,
            "interpolation": PIL_FILTERS.get(pre.get("resample"), "bilinear"),
            "rescaled": pre.get("do_rescale", True)}


def _read_transformers(folder: Path, config: dict) -> tuple[ModelFile, ModelCard]:
    if config.get("auto_map"):
        raise ModelLoadError(f"{folder.name} needs its own Python code (auto_map / trust_remote_code), which "
                             f"AdvLens never runs")
    weights = _weights_file(folder)
    transformers = _import("transformers", folder)
    architectures = config.get("architectures") or []
    cls = getattr(transformers, architectures[0], None) if architectures else None
    cls = cls if cls is not None and hasattr(cls, "from_pretrained") else transformers.AutoModelForImageClassification
    bars = transformers.logging.is_progress_bar_enabled()
    transformers.logging.disable_progress_bar()  # no "Loading weights" bar on the CLI's stderr
    try:
        network = cls.from_pretrained(str(folder), local_files_only=True, use_safetensors=True,
                                      trust_remote_code=False)
    except Exception as exc:  # transformers raises ValueError, OSError, KeyError ... on folders it cannot build
        raise ModelLoadError(f"transformers cannot open {folder.name} ({weights.name}): "
                             f"{first_error_line(exc)}") from exc
    finally:
        if bars:
            transformers.logging.enable_progress_bar()
    pre = hf_preprocessing(folder, config)
    network = network.eval()  # called with the images alone; Model unwraps the output's .logits
    labels = _transformers_labels(config)
    name = folder.name
    card = ModelCard(name=name, title=f"{name} (Hugging Face {architectures[0] if architectures else ''})".strip(),
                     labels=labels, mean=pre["mean"], std=pre["std"], input_size=pre["input_size"],
                     architecture=f"transformers:{architectures[0]}" if architectures else "",
                     crop_pct=pre["crop_pct"], interpolation=pre["interpolation"],
                     accepts_any_size=takes_any_size(network, pre["input_size"], len(pre["mean"])))
    return ModelFile("transformers", network=network), card


def build_transformers_architecture(name: str, args: dict) -> nn.Module:
    """`transformers:ClassName` with its config's fields as `architecture_args`, seeded random weights:
    for a card beside a safetensors file saved from that class."""
    try:
        transformers = importlib.import_module("transformers")
    except ImportError as exc:
        raise ModelLoadError(f"architecture transformers:{name} needs transformers: pip install transformers") from exc
    cls = getattr(transformers, name, None)
    if cls is None or not hasattr(cls, "config_class"):
        raise ModelLoadError(f"transformers has no model class '{name}' (e.g. ViTForImageClassification)")
    try:
        config = cls.config_class(**dict(args))
        return seeded(lambda: cls(config)).eval()
    except (TypeError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"cannot build transformers:{name} with {args}: {first_error_line(exc)}") from exc


# ------------------------------------------------------------------------------------------------- timm
def _read_timm(folder: Path, config: dict) -> tuple[ModelFile, ModelCard]:
    from .torch_files import read_safetensors

    weights = _weights_file(folder)
    if weights.suffix == ".json":
        raise ModelLoadError(f"{folder.name} holds sharded weights, which timm folders do not use")
    timm = _import("timm", folder)
    arch = str(config["architecture"])
    pretrained_cfg = dict(config.get("pretrained_cfg") or {})
    classes = int(config.get("num_classes") or pretrained_cfg.get("num_classes") or 1000)
    kwargs = {"num_classes": classes}
    if config.get("in_chans"):
        kwargs["in_chans"] = int(config["in_chans"])
    try:
        network = seeded(lambda: timm.create_model(arch, pretrained=False, **kwargs))
    except Exception as exc:  # unknown names and bad arguments raise RuntimeError, TypeError ...
        raise ModelLoadError(f"timm cannot build '{arch}' for {folder.name}: {first_error_line(exc)}") from exc
    state = read_safetensors(weights).state_dict or {}
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelLoadError(f"the weights in {folder.name}/{weights.name} do not fit timm's {arch}: "
                             f"{first_error_line(exc)}") from exc
    label_names = config.get("label_names")
    labels = [str(x) for x in label_names] if isinstance(label_names, list) else None
    card = timm_card(folder.name, f"{folder.name} (timm {arch})", {**pretrained_cfg, "num_classes": classes},
                     network, labels)
    card.architecture = f"timm:{arch}"
    return ModelFile("timm", network=network.eval()), card
