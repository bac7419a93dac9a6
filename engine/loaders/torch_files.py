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
from .graph_check import script_module_problem
from .pickle_scan import code_globals

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


def read_torchscript(path: Path, trust_pickle: bool = False) -> ModelFile:
    """A TorchScript archive, inspected before anything in it runs; code beyond tensor maths needs trust.

    torch.jit.load runs a class's `__setstate__` while it loads and builds C++ objects named by
    `torch.classes`, so the archive's code is read for those first (as text: nothing is compiled yet);
    once loaded, every operator of every method must be on graph_check's allowlist.
    """
    if not trust_pickle:
        risk = torchscript_archive_risk(path)
        if risk:
            raise UntrustedModelError(untrusted_code_message(path, "a TorchScript archive", risk))
    try:
        network = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable TorchScript archive: {first_error_line(exc)}") from exc
    if not trust_pickle:
        problem = script_module_problem(network)
        if problem:
            raise UntrustedModelError(untrusted_code_message(path, "a TorchScript archive", problem))
    return ModelFile("torchscript", network=network)


_STORAGE_MEMBER = re.compile(r"[^/]+/data/\d+")
_LOAD_TIME_CODE = (b"__setstate__", b"torch.classes")


def torchscript_archive_risk(path: Path) -> str | None:
    """What in a TorchScript archive would run while torch.jit.load reads it, or None.

    Tensor storages (`archive/data/N`) are raw bytes and are skipped; every other member is searched.
    Two members of one name are refused: torch's zip reader and Python's could then see different code.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if len(names) != len(set(names)):
                return "it holds two archive members of the same name"
            for name in names:
                if _STORAGE_MEMBER.fullmatch(name):
                    continue
                data = archive.read(name)
                for marker in _LOAD_TIME_CODE:
                    if marker in data:
                        what = "a __setstate__ method" if marker == b"__setstate__" else "a torch.classes object"
                        return f"it has {what}, code that runs while the archive loads"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise ModelLoadError(f"{path.name} is a corrupt TorchScript archive ({first_error_line(exc)})") from exc
    return None


def untrusted_code_message(path: Path, what: str, problem: str) -> str:
    """The refusal of a file that could run code beyond tensor maths, with what to do if it is trusted."""
    return (f"{path.name} is {what} that can run code beyond tensor maths ({problem}); open it only if you "
            f"trust where it came from (GUI: tick 'I trust this file'; CLI: --trust-pickle)")


def _code_globals_message(path: Path, names: list[str]) -> str:
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (f"{path.name} refused: it contains Python objects that would run code ({shown}): a full Python "
            f"pickle, not plain weights, can run any code while it loads; open it only if you trust where it came from "
            f"(GUI: tick 'I trust this file'; CLI: --trust-pickle)")


def read_torch_pickle(path: Path, kind: str, trust_pickle: bool) -> ModelFile:
    """A torch.save file through the weights-only reader; anything else is a full pickle needing trust.

    The pickle's opcodes are read first (nothing is unpickled): a global that the weights-only reader
    would not build is named in the refusal, instead of leaving it to torch's error text.
    """
    if not trust_pickle:
        try:
            wanted = code_globals(path, kind)
        except (ValueError, EOFError, OSError, zipfile.BadZipFile, IndexError, KeyError) as exc:
            raise ModelLoadError(f"{path.name} is a corrupt or truncated PyTorch file "
                                 f"({first_error_line(exc)})") from exc
        if wanted:
            raise UntrustedModelError(_code_globals_message(path, wanted))
        if kind == "pickle":  # a plain pickle of plain data: still no weights-only reading exists for it
            raise UntrustedModelError(_untrusted_message(path, ""))
    elif kind == "pickle":
        return _from_trusted_object(path, _load_trusted(path, plain=True))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not trust_pickle:
            raise ModelLoadError(f"{path.name} is corrupt or not a PyTorch state dict "
                                 f"(the weights-only reader stopped: {_weights_only_reason(exc)})") from exc
        return _from_trusted_object(path, _load_trusted(path, plain=False))
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelLoadError(f"{path.name} is a corrupt or truncated PyTorch file ({first_error_line(exc)})") from exc
    state = _find_state_dict(obj)
    if state is None:
        raise ModelLoadError(f"{path.name} holds a {type(obj).__name__}, not a state dict of weight tensors")
    return ModelFile("state_dict", state_dict=state)


def _untrusted_message(path: Path, detail: str) -> str:
    return (f"{path.name} is a full Python pickle{detail}: loading it can run any code hidden in it "
            f"(delete or steal your files); open it only if you trust where it came from "
            f"(GUI: tick 'I trust this file'; CLI: --trust-pickle)")


_TORCH_ADVICE = ("weights_only", "Re-running", "Check the documentation", "Please file an issue", "In PyTorch 2.6",
                 "add_safe_globals", "safe_globals", "trusted source")


def _weights_only_reason(exc: BaseException) -> str:
    """What stopped torch's weights-only reader, without torch's advice to retry with weights_only=False."""
    text = str(exc)
    marker = text.find("WeightsUnpickler error:")
    detail = text[marker + len("WeightsUnpickler error:"):] if marker >= 0 else text
    lines = [line.strip() for line in detail.splitlines() if line.strip()]
    lines = [line for line in lines if not any(word in line for word in _TORCH_ADVICE)]
    return lines[0][:200] if lines else "a pickle it cannot read"


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
