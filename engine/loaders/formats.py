"""What a model file is, from its first bytes and zip members, and what the readers hand back.

The suffix alone decides nothing: a `.pt` may be a state dict, a TorchScript archive or a full pickle,
and each of those is read (or refused) by its own reader.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelLoadError, first_error_line
from ..files import open_file

FORMAT_TITLES: dict[str, str] = {
    "safetensors": "safetensors weights",
    "state_dict": "PyTorch state dict",
    "torchscript": "TorchScript archive",
    "export": "torch.export program",
    "pickle": "full Python pickle",
    "onnx": "ONNX model (onnx2torch, else onnxruntime)",
    "torchvision": "torchvision architecture",
    "timm": "timm architecture",
    "transformers": "Hugging Face transformers folder",
}
MODEL_SUFFIXES: tuple[str, ...] = (".safetensors", ".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".pt2",
                                   ".ts", ".jit", ".torchscript", ".onnx")
CARD_SUFFIXES: tuple[str, ...] = (".json", ".toml")
NAMED_SOURCES: tuple[str, ...] = ("torchvision", "timm")
IMAGENET_MEAN: list[float] = [0.485, 0.456, 0.406]
IMAGENET_STD: list[float] = [0.229, 0.224, 0.225]
IMAGENET_SIZE = 224
PROBE_SIZE = 64  # the test input of a model that takes any size
MAX_INPUT_SIZE = 4096  # the largest resolution the app offers
# A legacy (non-zip) torch.save file starts with this pickled magic number; any other pickle is plain.
_LEGACY_TORCH_HEADS = tuple(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=p)[:-1] for p in range(2, 6))


@dataclass
class ModelFile:
    """What a model file holds: a runnable module, or bare weights that need an architecture."""

    kind: str
    network: nn.Module | None = None
    state_dict: dict[str, torch.Tensor] | None = None
    input_shape: tuple[int | None, ...] | None = None  # (N, C, H, W) when the file fixes it
    notes: list[str] = field(default_factory=list)


def sniff_format(path: Path) -> str:
    """The format from the file's first bytes (and zip members), not from its suffix alone."""
    with open_file(path, "a model file", ModelLoadError, label=path.name) as handle:  # FIFOs, devices: refused
        try:
            head = handle.read(32)
        except OSError as exc:
            raise ModelLoadError(f"cannot read {path.name}: {exc.strerror or exc}") from exc
    if not head:
        raise ModelLoadError(f"{path.name} is empty (0 bytes)")
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    if _looks_like_safetensors(path, head):
        return "safetensors"
    if path.suffix.lower() == ".safetensors":
        raise ModelLoadError(f"{path.name} is not a valid safetensors file (corrupt or truncated header)")
    if head[:1] == b"\x80":
        return "state_dict" if head.startswith(_LEGACY_TORCH_HEADS) else "pickle"
    if path.suffix.lower() == ".onnx":
        return "onnx"
    if _looks_like_old_pickle(path):
        return "pickle"
    raise ModelLoadError(f"{path.name} is not a model file AdvLens can read (safetensors, PyTorch .pt/.pth, "
                         f"TorchScript, torch.export .pt2, ONNX)")


_OLD_PICKLE_STARTS = frozenset({"MARK", "GLOBAL", "EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE", "NONE", "INT",
                                 "STRING", "UNICODE", "INST", "BININT", "BININT1", "SHORT_BINSTRING"})


def _looks_like_old_pickle(path: Path) -> bool:
    """A protocol 0 or 1 pickle (no 0x80 header): it starts as pickles do and its opcodes parse to STOP
    (or for 256 opcodes in a large file). Parsing opcodes runs nothing."""
    import io
    import pickletools
    import struct

    with open_file(path, "a model file", ModelLoadError, label=path.name) as handle:
        head = handle.read(1 << 16)
    try:
        for count, (opcode, _arg, _pos) in enumerate(pickletools.genops(io.BytesIO(head))):
            if count == 0 and opcode.name not in _OLD_PICKLE_STARTS:
                return False
            if opcode.name == "STOP" or count >= 256:
                return True
    except (ValueError, UnicodeDecodeError, IndexError, struct.error):
        return False
    return False


def _looks_like_safetensors(path: Path, head: bytes) -> bool:
    """An 8-byte little-endian header length that fits the file, then the JSON header's opening."""
    if len(head) < 10 or head[8:10] not in (b'{"', b"{}"):
        return False
    header_length = int.from_bytes(head[:8], "little")
    return 2 <= header_length <= path.stat().st_size - 8


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            formats = [n for n in names if n.rsplit("/", 1)[-1] == "archive_format"]
            if formats and archive.read(formats[0]).strip() == b"pt2":
                return "export"
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ModelLoadError(f"{path.name} is a corrupt or truncated archive ({first_error_line(exc)})") from exc
    if any("/code/" in n or n.endswith("/constants.pkl") for n in names):
        return "torchscript"
    if any(n.endswith("data.pkl") for n in names):
        return "state_dict"
    raise ModelLoadError(f"{path.name} is a zip archive but not a PyTorch model")

