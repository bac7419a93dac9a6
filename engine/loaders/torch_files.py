"""PyTorch's own files: safetensors, state dicts through the weights-only unpickler, TorchScript, trusted pickles.

Full pickles run code while they load, by design; they are refused with `UntrustedModelError` unless
the caller passes `trust_pickle=True` (the GUI's "I trust this file" box, the CLI's `--trust-pickle`).
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelLoadError, UntrustedModelError, first_error_line
from .formats import ModelFile

# Keys under which training scripts commonly nest the weights in a checkpoint dict.
STATE_DICT_KEYS: tuple[str, ...] = ("state_dict", "model_state_dict", "model", "net", "network", "weights",
                                    "module", "ema", "model_ema")


def read_safetensors(path: Path) -> ModelFile:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (OSError, SafetensorError, ValueError) as exc:
        raise ModelLoadError(f"cannot read weights {path.name}: {first_error_line(exc)}") from exc
    return ModelFile("safetensors", state_dict=state)


def read_torchscript(path: Path) -> ModelFile:
    try:
        network = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable TorchScript archive: {first_error_line(exc)}") from exc
    return ModelFile("torchscript", network=network)


def _untrusted_message(path: Path, detail: str) -> str:
    return (f"{path.name} is a full Python pickle{detail}: loading it can run any code hidden in it "
            f"(delete or steal your files); open it only if you trust where it came from "
            f"(GUI: tick 'I trust this file'; CLI: --trust-pickle)")


def read_torch_pickle(path: Path, kind: str, trust_pickle: bool) -> ModelFile:
    """A torch.save file through the weights-only reader; anything else is a full pickle needing trust."""
    if kind == "pickle":  # a plain pickle: no weights-only reading exists for it
        if not trust_pickle:
            raise UntrustedModelError(_untrusted_message(path, ""))
        return _from_trusted_object(path, _load_trusted(path, plain=True))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        wanted = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
        if not wanted and not trust_pickle:
            raise ModelLoadError(f"{path.name} is corrupt or not a PyTorch file "
                                 f"(the weights-only reader stopped: {_weights_only_reason(exc)})") from exc
        if not trust_pickle:
            raise UntrustedModelError(_untrusted_message(path, f" that calls {wanted.group(1)}")) from exc
        return _from_trusted_object(path, _load_trusted(path, plain=False))
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelLoadError(f"{path.name} is a corrupt or truncated PyTorch file ({first_error_line(exc)})") from exc
    state = _find_state_dict(obj)
    if state is None:
        raise ModelLoadError(f"{path.name} holds a {type(obj).__name__}, not a state dict of weight tensors")
    return ModelFile("state_dict", state_dict=state)


def _weights_only_reason(exc: BaseException) -> str:
    text = str(exc)
    marker = text.find("WeightsUnpickler error:")
    detail = text[marker + len("WeightsUnpickler error:"):] if marker >= 0 else text
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    return lines[0][:200] if lines else "unreadable pickle"


def _load_trusted(path: Path, plain: bool) -> object:
    """A full unpickle, which runs whatever the file asks for: only called after the person said yes."""
    try:
        if plain:
            with open(path, "rb") as handle:
                return pickle.load(handle)  # the person chose to trust this file
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # unpickling a trusted file may raise anything its code raises
        raise ModelLoadError(f"{path.name} could not be unpickled: {first_error_line(exc)}") from exc


def _from_trusted_object(path: Path, obj: object) -> ModelFile:
    if isinstance(obj, nn.Module):
        return ModelFile("pickle", network=obj)
    if isinstance(obj, dict):
        for key in STATE_DICT_KEYS:
            if isinstance(obj.get(key), nn.Module):
                return ModelFile("pickle", network=obj[key])
    state = _find_state_dict(obj)
    if state is not None:
        return ModelFile("state_dict", state_dict=state)
    raise ModelLoadError(f"{path.name} holds a {type(obj).__name__}, not a torch module or a state dict")


def _is_state_dict(obj: object) -> bool:
    return (isinstance(obj, dict) and bool(obj) and all(isinstance(k, str) for k in obj)
            and all(isinstance(v, torch.Tensor) for v in obj.values()))


def _find_state_dict(obj: object) -> dict[str, torch.Tensor] | None:
    """The weights in a checkpoint: the dict itself, or the first usual key holding one."""
    if _is_state_dict(obj):
        return dict(obj)
    if isinstance(obj, dict):
        for key in STATE_DICT_KEYS:
            if _is_state_dict(obj.get(key)):
                return dict(obj[key])
    return None
