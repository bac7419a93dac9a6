"""Models by name from the hubs people use: `torchvision:NAME` and `timm:NAME`, pretrained where possible.

Neither package is a dependency: a name whose package is missing is one line saying what to install.
Offline, pretrained weights cannot be fetched: the model then has random weights, said loudly in its notes.
"""

from __future__ import annotations

import importlib

from torch import nn

from ..errors import ModelLoadError, first_error_line
from ..model import ModelCard
from .cards import imagenet_labels, numbered_labels
from .formats import IMAGENET_MEAN, IMAGENET_SIZE, IMAGENET_STD, NAMED_SOURCES, ModelFile


def _import_source(source: str):
    try:
        return importlib.import_module("torchvision.models" if source == "torchvision" else "timm")
    except ImportError as exc:
        raise ModelLoadError(f"{source} is not installed: pip install {source} (a build matching your torch) "
                             f"to use {source}:NAME models") from exc


def build_named_architecture(spec: str, args: dict | None = None) -> nn.Module:
    """A torchvision or timm network by name, with fresh (random) weights, for a card's `architecture`."""
    source, _, name = spec.partition(":")
    module = _import_source(source)
    args = dict(args or {})
    try:
        if source == "torchvision":
            return module.get_model(name, weights=None, **args)
        return module.create_model(name, pretrained=False, **args)
    except (ValueError, KeyError, RuntimeError, TypeError) as exc:
        raise ModelLoadError(f"{source} cannot build '{name}': {first_error_line(exc)}") from exc


def load_named(spec: str) -> tuple[ModelFile, ModelCard]:
    """`torchvision:NAME` or `timm:NAME`: pretrained weights if they can be had, else random ones, said loudly."""
    source, _, name = spec.partition(":")
    if source not in NAMED_SOURCES or not name:
        raise ModelLoadError(f"'{spec}' is not a model name: use torchvision:NAME or timm:NAME")
    module = _import_source(source)
    if source == "torchvision":
        return _load_torchvision(module, name)
    return _load_timm(module, name)


def _random_weights_note(spec: str, exc: BaseException) -> str:
    return (f"{spec} has RANDOM weights: its pretrained weights could not be fetched ({first_error_line(exc)}); "
            f"its predictions mean nothing until you load trained weights")


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
    try:
        if weights is None:
            raise ModelLoadError("torchvision lists no pretrained weights for it")
        network = models.get_model(name, weights=weights)
    except Exception as exc:  # a download fails offline in many ways (URLError, OSError, RuntimeError, ...)
        notes.append(_random_weights_note(spec, exc))
        try:
            network = models.get_model(name, weights=None)
        except (ValueError, KeyError, RuntimeError, TypeError) as build_exc:
            raise ModelLoadError(f"torchvision cannot build '{name}': {first_error_line(build_exc)}") from build_exc
    meta = getattr(weights, "meta", {}) or {}
    labels = list(meta.get("categories") or imagenet_labels())
    mean, std, size = IMAGENET_MEAN, IMAGENET_STD, IMAGENET_SIZE
    if weights is not None:
        try:
            preset = weights.transforms()
            mean, std = list(getattr(preset, "mean", mean)), list(getattr(preset, "std", std))
            crop = getattr(preset, "crop_size", [size])
            size = int(crop[0] if isinstance(crop, list | tuple) else crop)
        except (TypeError, ValueError, AttributeError):
            pass
    card = ModelCard(name=spec, title=f"{name} (torchvision)", labels=labels, mean=mean, std=std, input_size=size,
                     architecture=spec)
    return ModelFile("torchvision", network=network, notes=notes), card


def _load_timm(timm, name: str) -> tuple[ModelFile, ModelCard]:
    spec = f"timm:{name}"
    notes = []
    try:
        network = timm.create_model(name, pretrained=True)
    except Exception as exc:  # unknown names and failed downloads both land here; the retry tells them apart
        try:
            network = timm.create_model(name, pretrained=False)
        except (ValueError, KeyError, RuntimeError, TypeError) as build_exc:
            raise ModelLoadError(f"timm cannot build '{name}': {first_error_line(build_exc)}") from build_exc
        notes.append(_random_weights_note(spec, exc))
    config = dict(getattr(network, "pretrained_cfg", None) or {})
    classes = int(config.get("num_classes") or getattr(network, "num_classes", 1000))
    labels = imagenet_labels() if classes == 1000 else numbered_labels(classes)
    input_size = config.get("input_size") or (3, IMAGENET_SIZE, IMAGENET_SIZE)
    card = ModelCard(name=spec, title=f"{name} (timm)", labels=labels,
                     mean=list(config.get("mean", IMAGENET_MEAN)), std=list(config.get("std", IMAGENET_STD)),
                     input_size=int(input_size[-1]), architecture=spec)
    return ModelFile("timm", network=network, notes=notes), card
