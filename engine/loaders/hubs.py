"""Models by name from the hubs people use: `torchvision:NAME`, `timm:NAME`, pretrained where possible.

Neither package is a dependency: a name whose package is missing is one line saying what to install.
Pretrained weights come from the libraries' own caches; they are downloaded only when a network is
reachable (checked once, in a few seconds, and never when HF_HUB_OFFLINE / ADVLENS_OFFLINE is set), so
offline a name loads at once instead of after a minute of retries. Without them the model has random
weights drawn from a fixed seed (the same weights on every load, so a run replays), said loudly in its notes.
"""

from __future__ import annotations

import importlib
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from ..errors import ModelLoadError, first_error_line
from ..model import ModelCard
from .cards import imagenet_labels, numbered_labels
from .formats import IMAGENET_MEAN, IMAGENET_SIZE, IMAGENET_STD, ModelFile

HUB_SOURCES: tuple[str, ...] = ("torchvision", "timm", "hf")  # the prefixes of model names (hf: the local cache)

RANDOM_WEIGHTS_SEED = 0  # the seed random (not pretrained) weights are drawn from: the same model on every load
REACHABLE_TIMEOUT_S = 3.0  # how long the one network check may take before the hub counts as offline
OFFLINE_VARIABLES = ("ADVLENS_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
TORCHVISION_HOST = "download.pytorch.org"
HF_HOST = "huggingface.co"
TORCHVISION_CROP_PCT = 224 / 256  # torchvision's ImageNet presets: resize to 256, centre-crop 224


def offline_requested() -> bool:
    """True when the environment says not to use the network (HF_HUB_OFFLINE=1 and friends)."""
    return any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in OFFLINE_VARIABLES)


_reachable: dict[str, bool] = {}


def hub_reachable(host: str, timeout: float = REACHABLE_TIMEOUT_S) -> bool:
    """Whether `host` answers on port 443 within `timeout` seconds (asked once per process and host).

    Name resolution has no timeout of its own, so the check runs in a daemon thread that is abandoned
    when it takes too long: offline, a hub look-up costs at most `timeout` seconds, with no retries.
    """
    if offline_requested():
        return False
    if host in _reachable:
        return _reachable[host]
    answer: list[bool] = []

    def connect() -> None:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                answer.append(True)
        except OSError:
            answer.append(False)

    worker = threading.Thread(target=connect, name=f"advlens-reach-{host}", daemon=True)
    worker.start()
    worker.join(timeout)
    _reachable[host] = bool(answer and answer[0])
    return _reachable[host]


def seeded(build: Callable[[], nn.Module], seed: int = RANDOM_WEIGHTS_SEED) -> nn.Module:
    """A network built with torch's global generator seeded, restored after: the same random weights every time."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def random_weights_note(spec: str, reason: str, seed: int = RANDOM_WEIGHTS_SEED) -> str:
    return (f"{spec} has RANDOM weights (seed {seed}, the same on every load): {reason}; its predictions mean "
            f"nothing until you load trained weights")


def _import_source(source: str):
    try:
        return importlib.import_module("torchvision.models" if source == "torchvision" else "timm")
    except ImportError as exc:
        raise ModelLoadError(f"{source} is not installed: pip install {source} (a build matching your torch) "
                             f"to use {source}:NAME models") from exc


def build_named_architecture(spec: str, args: dict | None = None) -> nn.Module:
    """A torchvision or timm network by name, with seeded random weights, for a card's `architecture`."""
    source, _, name = spec.partition(":")
    module = _import_source(source)
    args = dict(args or {})
    try:
        if source == "torchvision":
            return seeded(lambda: module.get_model(name, weights=None, **args))
        return seeded(lambda: module.create_model(name, pretrained=False, **args))
    except (ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise ModelLoadError(f"{source} cannot build '{name}': {first_error_line(exc)}") from exc


def load_named(spec: str) -> tuple[ModelFile, ModelCard]:
    """`torchvision:NAME` or `timm:NAME`: pretrained weights if they can be had, else seeded random ones."""
    source, _, name = spec.partition(":")
    if source not in HUB_SOURCES or not name:
        raise ModelLoadError(f"'{spec}' is not a model name: use torchvision:NAME, timm:NAME or hf:ORG/NAME")
    if source == "hf":  # the caller opens those from the Hugging Face cache (pretrained_folders.load_hf_cached)
        raise ModelLoadError(f"'{spec}' is a Hugging Face cache name: open it with loaders.load_model")
    module = _import_source(source)
    if source == "torchvision":
        return _load_torchvision(module, name)
    return _load_timm(module, name)


def takes_any_size(network: nn.Module, size: int, channels: int = 3) -> bool:
    """Whether a network runs on a smaller input than its own size too (global pooling), asked once.

    ViTs with fixed position embeddings refuse; ResNets, ConvNeXts, EfficientNets take any size.
    """
    other = max(16, (size * 3 // 4) // 16 * 16)
    other = other if other != size else size // 2
    try:
        with torch.no_grad():
            out = network(torch.full((1, channels, other, other), 0.5))
    except Exception:  # any refusal of the other size (a shape assertion, a reshape error) means fixed
        return False
    logits = getattr(out, "logits", out)
    return isinstance(logits, torch.Tensor) and logits.dim() == 2


def _torchvision_cached(weights) -> Path | None:
    try:
        name = os.path.basename(urlparse(weights.url).path)
        path = Path(torch.hub.get_dir()) / "checkpoints" / name
    except (AttributeError, TypeError, ValueError):
        return None
    return path if name and path.is_file() else None


def _load_torchvision(models, name: str) -> tuple[ModelFile, ModelCard]:
    spec = f"torchvision:{name}"
    listing = getattr(models, "list_models", None)
    if listing is not None and name not in listing():
        raise ModelLoadError(f"torchvision has no model '{name}'")
    try:
        weights = models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError, AttributeError):
        weights = None
    notes = []
    network = None
    if weights is None:
        notes.append(random_weights_note(spec, "torchvision lists no pretrained weights for it"))
    elif _torchvision_cached(weights) is None and not hub_reachable(TORCHVISION_HOST):
        notes.append(random_weights_note(spec, f"offline, and its pretrained weights are not in torch's cache "
                                               f"({Path(torch.hub.get_dir()) / 'checkpoints'})"))
    else:
        try:
            network = models.get_model(name, weights=weights)
        except Exception as exc:  # a download fails in many ways (URLError, OSError, RuntimeError, ...)
            notes.append(random_weights_note(spec, f"its pretrained weights could not be fetched "
                                                   f"({first_error_line(exc)})"))
    if network is None:
        try:
            network = seeded(lambda: models.get_model(name, weights=None))
        except (ValueError, KeyError, RuntimeError, TypeError) as build_exc:
            raise ModelLoadError(f"torchvision cannot build '{name}': {first_error_line(build_exc)}") from build_exc
    meta = getattr(weights, "meta", {}) or {}
    labels = list(meta.get("categories") or imagenet_labels())
    mean, std, size, crop_pct, interpolation = IMAGENET_MEAN, IMAGENET_STD, IMAGENET_SIZE, TORCHVISION_CROP_PCT, ""
    if weights is not None:
        try:
            preset = weights.transforms()
            mean, std = list(getattr(preset, "mean", mean)), list(getattr(preset, "std", std))
            crop = getattr(preset, "crop_size", [size])
            size = int(crop[0] if isinstance(crop, list | tuple) else crop)
            resize = getattr(preset, "resize_size", None)
            resize = int(resize[0] if isinstance(resize, list | tuple) else resize) if resize else None
            crop_pct = size / resize if resize else crop_pct
            mode = getattr(preset, "interpolation", None)
            interpolation = str(getattr(mode, "value", "") or "")
        except (TypeError, ValueError, AttributeError):
            pass
    any_size = takes_any_size(network, size)
    card = ModelCard(name=spec, title=f"{name} (torchvision)", labels=labels, mean=mean, std=std, input_size=size,
                     architecture=spec, accepts_any_size=any_size, crop_pct=round(crop_pct, 4),
                     interpolation=interpolation if interpolation in ("bilinear", "bicubic", "nearest") else "bilinear")
    return ModelFile("torchvision", network=network, notes=notes), card


def _timm_cached_file(pretrained_cfg: dict) -> str | None:
    """The pretrained weights' file in the local Hugging Face cache, if they are there (no network)."""
    repo = pretrained_cfg.get("hf_hub_id")
    if not repo:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    for filename in ("model.safetensors", "open_clip_model.safetensors"):
        try:
            found = try_to_load_from_cache(repo, filename, revision=pretrained_cfg.get("hf_hub_revision"))
        except Exception:  # an odd repo id or cache layout: treat as not cached
            found = None
        if isinstance(found, str) and os.path.isfile(found):
            return found
    return None


def _load_timm(timm, name: str) -> tuple[ModelFile, ModelCard]:
    spec = f"timm:{name}"
    if not timm.is_model(name):
        found = timm.list_models(f"*{name}*")[:5]
        hint = f" (similar: {', '.join(found)})" if found else ""
        raise ModelLoadError(f"timm has no model '{name}'{hint}")
    try:
        pretrained_cfg = dict(timm.models.get_pretrained_cfg(name).to_dict())
    except (AttributeError, RuntimeError, KeyError, ValueError):
        pretrained_cfg = {}
    cached = _timm_cached_file(pretrained_cfg)
    notes, network = [], None
    if not pretrained_cfg.get("hf_hub_id") and not pretrained_cfg.get("url"):
        notes.append(random_weights_note(spec, "timm lists no pretrained weights for it"))
    elif cached is not None:
        try:
            network = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": cached})
        except Exception as exc:  # a damaged cache file
            notes.append(random_weights_note(spec, f"its cached weights could not be read ({first_error_line(exc)})"))
    elif not hub_reachable(HF_HOST if pretrained_cfg.get("hf_hub_id") else _host(pretrained_cfg.get("url"))):
        notes.append(random_weights_note(spec, "offline, and its pretrained weights are not in the Hugging Face "
                                               "cache"))
    else:
        try:
            network = timm.create_model(name, pretrained=True)
        except Exception as exc:  # failed downloads raise many types
            notes.append(random_weights_note(spec, f"its pretrained weights could not be fetched "
                                                   f"({first_error_line(exc)})"))
    if network is None:
        try:
            network = seeded(lambda: timm.create_model(name, pretrained=False))
        except (ValueError, KeyError, RuntimeError, TypeError) as build_exc:
            raise ModelLoadError(f"timm cannot build '{name}': {first_error_line(build_exc)}") from build_exc
    config = dict(getattr(network, "pretrained_cfg", None) or pretrained_cfg)
    return ModelFile("timm", network=network, notes=notes), timm_card(spec, f"{name} (timm)", config, network)


def _host(url: str | None) -> str:
    return urlparse(url or "").hostname or HF_HOST


def timm_card(spec: str, title: str, config: dict, network: nn.Module | None = None,
              labels: list[str] | None = None) -> ModelCard:
    """A card from a timm pretrained_cfg (its own, or a saved folder's): size, mean/std, crop, interpolation."""
    classes = int(config.get("num_classes") or getattr(network, "num_classes", 0) or 1000)
    if labels is None or len(labels) != classes:
        labels = imagenet_labels() if classes == 1000 else numbered_labels(classes)
    input_size = config.get("input_size") or (3, IMAGENET_SIZE, IMAGENET_SIZE)
    crop_pct = config.get("crop_pct") if config.get("crop_mode", "center") == "center" else None
    interpolation = str(config.get("interpolation") or "bicubic")
    mean = list(config.get("mean", IMAGENET_MEAN))
    return ModelCard(name=spec, title=title, labels=labels, mean=mean,
                     std=list(config.get("std", IMAGENET_STD)), input_size=int(input_size[-1]), architecture=spec,
                     accepts_any_size=not config.get("fixed_input_size", False),
                     crop_pct=float(crop_pct) if crop_pct else None,
                     interpolation=interpolation if interpolation in ("bilinear", "bicubic", "nearest") else "bicubic")
