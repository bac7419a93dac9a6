"""Model files as people have them, each format read by its own loader, none running code by default.

`load_model` (loaders/source.py) is the one entry point: a bundled name, `torchvision:NAME` /
`timm:NAME`, or a file. The modules, one job each:

- `formats`: what a file is, from its bytes (not its suffix), and `ModelFile`, what a reader returns;
- `cards`: model cards (labels, normalisation, input size) read, checked, and guessed for a file without one;
- `torch_files`: safetensors, weights-only state dicts, TorchScript, trusted pickles;
- `export`: torch.export (.pt2) archives, checked before torch.export.load touches them;
- `onnx_models`: ONNX graphs, converted by onnx2torch or run in onnxruntime;
- `hubs`: torchvision and timm models by name;
- `architectures`: networks by name for weights-only files;
- `bundled`: the models that ship with AdvLens;
- `probe`: the load-time test input.
"""

from __future__ import annotations

from .architectures import ARCHITECTURES, build_architecture, known_architectures
from .bundled import CONTROL_ROLE, DEMO_MODEL, BundledModel, bundled_models, control_models, model_alias
from .cards import (
    card_from_dict,
    file_identity,
    find_card,
    imagenet_labels,
    numbered_labels,
    read_card,
    validate_card,
)
from .formats import CARD_SUFFIXES, FORMAT_TITLES, MODEL_SUFFIXES, ModelFile, sniff_format
from .source import load_demo_model, load_model

__all__ = [
    "ARCHITECTURES", "CARD_SUFFIXES", "CONTROL_ROLE", "DEMO_MODEL", "FORMAT_TITLES", "MODEL_SUFFIXES",
    "BundledModel", "ModelFile", "build_architecture", "bundled_models", "card_from_dict", "control_models",
    "file_identity", "find_card", "imagenet_labels", "known_architectures", "load_demo_model", "load_model",
    "model_alias", "numbered_labels", "read_card", "sniff_format", "validate_card",
]
