"""Architectures by name, for files that hold only weights: built-in ones and `torchvision:`/`timm:` names.

A state dict or safetensors file carries no code, so its card's `architecture` names the network the
weights belong to; the weights are then fitted to it, with one line saying what does not fit.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelLoadError, first_error_line
from ..model import ModelCard

ARCHITECTURES: dict[str, type] = {}


def _register_builtin_architectures() -> None:
    if ARCHITECTURES:
        return
    from ..demo.broken import QuantizedShapesNet, SaturatedShapesNet
    from ..demo.net import ShapesNet

    ARCHITECTURES["advlens.shapes_cnn"] = ShapesNet
    ARCHITECTURES["advlens.shapes_cnn_quantized"] = QuantizedShapesNet  # broken on purpose (diagnostics)
    ARCHITECTURES["advlens.shapes_cnn_saturated"] = SaturatedShapesNet


def build_architecture(name: str, args: dict) -> nn.Module:
    """A network by name with fresh weights: a built-in one, or `torchvision:NAME` / `timm:NAME`."""
    if name.startswith(("torchvision:", "timm:")):
        from .hubs import build_named_architecture

        return build_named_architecture(name, args)
    if name.startswith("transformers:"):
        from .pretrained_folders import build_transformers_architecture

        return build_transformers_architecture(name.split(":", 1)[1], args)
    _register_builtin_architectures()
    if name not in ARCHITECTURES:
        raise ModelLoadError(f"unknown architecture '{name}': use one of {architecture_families()}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
    try:
        return ARCHITECTURES[name](**kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"cannot build architecture '{name}' with {args}: {first_error_line(exc)}") from exc


ARCHITECTURE_FAMILIES: tuple[tuple[str, str, str], ...] = (
    # (prefix, example, the package that provides it)
    ("torchvision:", "torchvision:resnet18", "torchvision.models"),
    ("timm:", "timm:vit_tiny_patch16_224", "timm"),
    ("transformers:", "transformers:ViTForImageClassification (architecture_args: its config)", "transformers"),
)


def architecture_families() -> str:
    """Every kind of name a card's `architecture` can take, with whether its package is installed."""
    _register_builtin_architectures()
    parts = [", ".join(sorted(ARCHITECTURES))]
    for _prefix, example, package in ARCHITECTURE_FAMILIES:
        top = package.split(".")[0]
        parts.append(example if importlib.util.find_spec(top) is not None else f"{example} (needs {top}, not installed)")
    return "; ".join(parts)


def known_architectures() -> list[str]:
    """Architecture names a card can use for weights-only files (torchvision's when it is installed)."""
    _register_builtin_architectures()
    names = sorted(ARCHITECTURES)
    try:
        models = importlib.import_module("torchvision.models")
        names += [f"torchvision:{n}" for n in models.list_models()]
    except (ImportError, AttributeError):
        pass
    return names


def _strip_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor] | None:
    """Weights saved from a wrapper (DataParallel's `module.`, Lightning's `model.`) without the prefix."""
    firsts = {key.split(".", 1)[0] for key in state}
    if len(firsts) == 1 and all("." in key for key in state):
        prefix = next(iter(firsts)) + "."
        return {key[len(prefix):]: value for key, value in state.items()}
    return None


def network_from_weights(path: Path, state: dict[str, torch.Tensor], card: ModelCard) -> nn.Module:
    if not card.architecture:
        raise ModelLoadError(f"{path.name} holds only weights: its model card must name the 'architecture' "
                             f"they belong to ({architecture_families()})")
    network = build_architecture(card.architecture, card.architecture_args)
    try:
        network.load_state_dict(state)
    except RuntimeError as exc:
        stripped = _strip_prefix(state)
        try:
            if stripped is None:
                raise exc
            network.load_state_dict(stripped)
        except RuntimeError as inner:
            raise ModelLoadError(f"weights in {path.name} do not fit architecture {card.architecture}: "
                                 f"{_describe_mismatch(network, stripped or state)}") from inner
    return network


def _describe_mismatch(network: nn.Module, state: dict[str, torch.Tensor]) -> str:
    """Which weights are missing, unexpected or of another shape, in one line."""
    expected = network.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    reshaped = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing (first: {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected (first: {unexpected[0]})")
    if reshaped:
        key = reshaped[0]
        parts.append(f"{len(reshaped)} of another shape (first: {key} is {list(state[key].shape)}, "
                     f"the architecture wants {list(expected[key].shape)})")
    return "; ".join(parts) or "they do not load"
