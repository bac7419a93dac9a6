"""Loading a model from where people have it, the one entry point being `load_model`.

`load_model` takes a bundled name, a hub name or a file; for a file, `load_from_source`
1. reads what the file holds (`read_model_file`): a module (TorchScript, torch.export, ONNX, a trusted
   pickle) or bare weights (safetensors, a `weights_only` state dict) that need the card's architecture;
2. finds the model card (the argument, else a JSON/TOML card beside the file);
3. builds the `Model` and runs one test input through it (`probe`), so a model that cannot work fails
   at load time with one message instead of in the middle of a run.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import torch

from ..device import select_device
from ..errors import ModelCardMissing, ModelLoadError, ModelOutputError, UntrustedModelError, first_error_line
from ..files import check_file
from ..model import Model, ModelCard
from ..model_source import ModelSource, ResizedModel
from .architectures import network_from_weights
from .bundled import DEMO_MODEL, bundled_models, load_safetensors_model, model_alias
from .cards import find_card, read_card, suggest_card, validate_card
from .export import export_archive_risk, read_export
from .formats import PROBE_SIZE, ModelFile, sniff_format
from .hubs import HUB_SOURCES, load_named
from .onnx_models import OnnxNetwork, onnx_network, read_onnx
from .pretrained_folders import is_pretrained_folder, load_hf_cached, read_pretrained_folder
from .probe import probe
from .sandbox import CODE_FORMATS, Limits, isolation_available, run_limited
from .torch_files import (
    read_safetensors,
    read_torch_pickle,
    read_torchscript,
    torchscript_archive_risk,
    untrusted_code_message,
)


def load_model(name_or_path: str | os.PathLike, device: str | torch.device | None = "auto",
               card: ModelCard | str | os.PathLike | None = None, trust_pickle: bool = False,
               onnx_runtime: bool = False, isolate: bool = True) -> Model:
    """The one way to get a model: a bundled name ('demo'), `torchvision:NAME` / `timm:NAME`, `hf:ORG/NAME`
    (the local Hugging Face cache only), a Hugging Face or timm `save_pretrained` folder, or a file.

    Files: safetensors or state dicts (+ the card's architecture), TorchScript, torch.export (.pt2),
    ONNX (converted to torch by onnx2torch where it matches onnxruntime, else — or with
    `onnx_runtime=True` — run by onnxruntime, no gradients) and, only with `trust_pickle=True`,
    full pickles. The card is `card` (a ModelCard or a card file), else a JSON/TOML card beside the
    file; without one, `ModelCardMissing` carries a guess to confirm. Every model runs one test input
    before it is returned, so a model that cannot work fails here with one message (engine/loaders/);
    for files that carry code it runs in a limited child process first (`isolate`, see loaders/sandbox.py).
    """
    target = select_device(device) if not isinstance(device, torch.device) else device
    key = model_alias(str(name_or_path))
    for bundled in bundled_models():
        if bundled.name == key:
            model = load_safetensors_model(bundled.weights, bundled.card).to(target)
            break
    else:
        model = load_from_source(str(name_or_path), target, card=card, trust_pickle=trust_pickle,
                                 onnx_runtime=onnx_runtime, isolate=isolate)
    model.source = ModelSource(str(name_or_path), card if isinstance(card, ModelCard | None) else str(card),
                               trust_pickle=trust_pickle, onnx_runtime=onnx_runtime)
    return model


def load_demo_model(device: str | torch.device | None = "auto") -> Model:
    return load_model(DEMO_MODEL, device)


def read_model_file(path: Path, trust_pickle: bool = False, kind: str | None = None) -> ModelFile:
    """What a model file holds, read by the loader for its format (`kind`: sniffed already)."""
    kind = kind or sniff_format(path)
    if kind == "safetensors":
        return read_safetensors(path)
    if kind == "torchscript":
        return read_torchscript(path, trust_pickle)
    if kind == "export":
        return read_export(path, trust_pickle)
    if kind == "onnx":
        return read_onnx(path)
    return read_torch_pickle(path, kind, trust_pickle)


def precheck_code_file(path: Path, kind: str) -> None:
    """The checks of a TorchScript or .pt2 file that read its zip members as data (nothing is deserialized)."""
    if kind == "torchscript":
        risk, what = torchscript_archive_risk(path), "a TorchScript archive"
    else:
        risk, what = export_archive_risk(path), "a torch.export archive"
    if risk:
        raise UntrustedModelError(untrusted_code_message(path, what, risk))


def _resolve_card(card: ModelCard | str | os.PathLike | None, path: Path | None) -> ModelCard | None:
    if isinstance(card, ModelCard):
        return validate_card(card, f"model card of {path.name if path else 'the model'}")
    if card is not None:
        card_path = Path(card)
        if not os.path.lexists(card_path):
            raise ModelLoadError(f"no model card at {card_path}")
        return read_card(card_path)
    found = find_card(path) if path is not None else None
    return read_card(found) if found else None


def load_from_source(source: str, device: torch.device, card: ModelCard | str | os.PathLike | None = None,
                     trust_pickle: bool = False, onnx_runtime: bool = False, isolate: bool = True) -> Model:
    """A model from a file or a `torchvision:`/`timm:` name, checked by one test forward pass.

    An ONNX file becomes a torch module with onnx2torch where that gives onnxruntime's logits, else (or
    with `onnx_runtime=True`) it runs in onnxruntime, without gradients (`onnx_network`). A file that
    carries code (TorchScript, .pt2) is first read, checked and probed in a limited child process
    (`sandbox.probe_in_child`) unless `isolate` is false; here it is then read and checked again, and
    probed again only on a device other than the CPU.
    """
    isolated = False
    if source.split(":", 1)[0] in HUB_SOURCES and not Path(source).exists():
        content, named_card = load_hf_cached(source[3:]) if source.startswith("hf:") else load_named(source)
        model_card = _resolve_card(card, None) or named_card
        path = None
    else:
        path = Path(source)
        if not os.path.lexists(path):
            names = ", ".join(["demo"] + [b.name for b in bundled_models()])
            raise ModelLoadError(f"no model '{source}': not a bundled model ({names}), not torchvision:NAME, "
                                 f"timm:NAME or hf:ORG/NAME, nor an existing file or folder")
        if path.is_dir():
            if not is_pretrained_folder(path):
                raise ModelLoadError(f"{path} is a folder without a config.json (not a Hugging Face or timm "
                                     f"save_pretrained folder): choose the model file inside it")
            content, folder_card = read_pretrained_folder(path)  # safetensors only: no code runs
            model_card = _resolve_card(card, None) or folder_card
        else:
            check_file(path, "a model file", ModelLoadError, label=path.name)  # a FIFO would block every reader
            model_card = _resolve_card(card, path)
            kind = sniff_format(path)
            isolated = isolate and kind in CODE_FORMATS and isolation_available()
            if isolated:
                if not trust_pickle:
                    precheck_code_file(path, kind)  # pure-Python checks first: a refused file needs no child
                probe_in_child(str(path), model_card, trust_pickle=trust_pickle, onnx_runtime=onnx_runtime,
                               kind=kind)
            content = read_model_file(path, trust_pickle, kind=kind)
        if model_card is None:
            needs_architecture = content.network is None
            fields = "name, labels, mean, std, input_size" + (", architecture" if needs_architecture else "")
            raise ModelCardMissing(
                f"{path.name} has no model card: put {path.stem}.json or {path.stem}.toml beside it "
                f"({fields}; see the README) or pass one explicitly",
                path=str(path), suggestion=suggest_card(path, content),
                needs_architecture=needs_architecture)
    where = path or Path(source)
    if content.network is None:
        network = network_from_weights(where, content.state_dict, model_card)
    else:
        network = content.network
    notes = list(content.notes)
    if content.input_shape is not None and content.input_shape[1] not in (None, len(model_card.mean)):
        raise ModelOutputError(f"{where.name} takes {content.input_shape[1]} channel(s) but its card's mean/std "
                               f"has {len(model_card.mean)}")
    fixed = content.input_shape[2:] if content.input_shape is not None else (None, None)
    if fixed[0] is not None and fixed[0] != fixed[1]:
        raise ModelOutputError(f"{where.name} needs {fixed[1]}x{fixed[0]} inputs; AdvLens feeds square images")
    if fixed[0] is not None and model_card.input_size not in (None, fixed[0]):
        raise ModelOutputError(f"{where.name} needs {fixed[0]}x{fixed[0]} inputs but its card says "
                               f"input_size {model_card.input_size}")
    if fixed[0] is not None and model_card.input_size is None:
        model_card = replace(model_card, input_size=fixed[0])
    if isinstance(network, OnnxNetwork):
        network, note = onnx_network(where, network, model_card, content.input_shape, use_runtime=onnx_runtime)
        notes.insert(0, note)
    if len(model_card.mean) == 1:
        notes.append("takes grey (1-channel) images: colour images are converted to grey "
                     "(0.299 R + 0.587 G + 0.114 B) inside the model")
    try:
        model = Model(network, model_card, kind=content.kind, notes=notes).to(device)
    except RuntimeError as exc:
        raise ModelLoadError(f"cannot move {where.name} to {device}: {first_error_line(exc)}") from exc
    if not isolated or device.type != "cpu":
        probe(model)
    model.notes.extend(output_notes(model))
    return model


def output_notes(model: Model) -> list[str]:
    """What two different test images say about a model's outputs: scores that never change with the input
    (a classifier head of zeros, as torchvision's vit_b_16 starts with) mean no attack can change its
    prediction, and a person should hear that before a run says "success" or "failed"."""
    size = model.input_size or PROBE_SIZE
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(2, model.input_channels, size, size, generator=generator).to(model.device)
    images[1] = 1.0 - images[1]
    try:
        with torch.no_grad():
            logits = model.checked_logits(images).double()
    except ModelOutputError:
        return []
    scale = max(1.0, float(logits.abs().max()))
    spread = float((logits.amax(dim=1) - logits.amin(dim=1)).max())
    change = float((logits[0] - logits[1]).abs().max())
    if spread <= 1e-6 * scale:
        return [f"{model.card.display_name}'s outputs are constant: every class gets the same score for every "
                f"input (a classifier head of zeros does this, as in a freshly built torchvision vit_b_16, and so "
                f"can random weights whose signal fades layer by layer), so its prediction is a tie broken by "
                f"class order and no attack can change it"]
    if change <= 1e-6 * scale:
        return [f"{model.card.display_name}'s outputs are nearly constant: two very different test images change "
                f"its scores by at most {change:.1g} (the classes' scores spread over {spread:.2g}), so an attack "
                f"can hardly change its prediction (random weights often do this: the signal fades layer by layer)"]
    return []


def _probe_source(source: str, card, trust_pickle: bool, onnx_runtime: bool) -> dict:
    """In the child: the whole in-process load, test input included, on the CPU."""
    import torch

    model = load_from_source(source, torch.device("cpu"), card=card, trust_pickle=trust_pickle,
                             onnx_runtime=onnx_runtime, isolate=False)
    return {"classes": model.num_classes, "kind": model.kind}


def _import_export_readers() -> None:
    """What reading a torch.export file imports first (sympy, the export serializer): seconds of start-up."""
    import torch.export  # noqa: F401
    from torch._export.serde import serialize  # noqa: F401


def probe_in_child(source: str, card=None, trust_pickle: bool = False, onnx_runtime: bool = False,
                   limits: Limits | None = None, kind: str | None = None) -> dict:
    """Load `source` and run its test input in a limited child; raises what loading it would raise."""
    try:
        size = os.stat(source).st_size
    except OSError:
        size = 0
    name = os.path.basename(source) or source
    return run_limited(_probe_source, (source, card, trust_pickle, onnx_runtime), f"{name}'s load and test input",
                       limits or Limits.default(size, may_write_files=trust_pickle),
                       prepare=_import_export_readers if kind in (None, "export") else None)


def load_source(source: ModelSource, device: str = "auto") -> Model:
    """Load the model a `ModelSource` names (a cluster worker does), and put back the wrapper it had."""
    model = load_model(source.spec, device, card=source.card, trust_pickle=source.trust_pickle,
                       onnx_runtime=source.onnx_runtime)
    return ResizedModel(model) if source.wrap == "resize" else model
