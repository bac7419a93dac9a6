"""Model files as people have them, each format read by its own loader, none running code by default.

`model.load_model` is the one entry point; it calls `load_from_source` here, which
1. reads what the file holds (`read_model_file`): a module (TorchScript, torch.export, ONNX, a trusted
   pickle) or bare weights (safetensors, a `weights_only` state dict) that need the card's architecture;
2. finds the model card (the argument, else a JSON/TOML card beside the file);
3. builds the `Model` and runs one test input through it (`probe`), so a model that cannot work fails
   at load time with one message instead of in the middle of a run.

Full pickles run code while they load, by design; they are refused with `UntrustedModelError` unless
the caller passes `trust_pickle=True` (the GUI's "I trust this file" box, the CLI's `--trust-pickle`).
torch.export archives can carry pickles, compiled code and expressions that are evaluated while
loading; an archive is loaded untrusted only after `export_archive_risk` found none of these.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import pickle
import re
import sys
import types
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import ModelCardMissing, ModelLoadError, ModelOutputError, UntrustedModelError, first_error_line
from .model import Model, ModelCard, build_architecture

FORMAT_TITLES: dict[str, str] = {
    "safetensors": "safetensors weights",
    "state_dict": "PyTorch state dict",
    "torchscript": "TorchScript archive",
    "export": "torch.export program",
    "pickle": "full Python pickle",
    "onnx": "ONNX model (onnx2torch, else onnxruntime)",
    "torchvision": "torchvision architecture",
    "timm": "timm architecture",
}
MODEL_SUFFIXES: tuple[str, ...] = (".safetensors", ".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".pt2",
                                   ".ts", ".jit", ".torchscript", ".onnx")
CARD_SUFFIXES: tuple[str, ...] = (".json", ".toml")
NAMED_SOURCES: tuple[str, ...] = ("torchvision", "timm")
IMAGENET_MEAN: list[float] = [0.485, 0.456, 0.406]
IMAGENET_STD: list[float] = [0.229, 0.224, 0.225]
IMAGENET_SIZE = 224
PROBE_SIZE = 64  # the test input of a model that takes any size
ONNX_TOLERANCE = 1e-4  # largest logit difference onnx2torch vs onnxruntime, relative to the logits' scale
ONNX2TORCH_OPSET = 18  # the newest opset onnx2torch 1.5 converts; newer graphs are converted down to it first
MAX_INPUT_SIZE = 4096  # the largest resolution the app offers
# Keys under which training scripts commonly nest the weights in a checkpoint dict.
STATE_DICT_KEYS: tuple[str, ...] = ("state_dict", "model_state_dict", "model", "net", "network", "weights",
                                    "module", "ema", "model_ema")
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


# ---------------------------------------------------------------------------------------------- labels
def imagenet_labels() -> list[str]:
    """The 1000 ImageNet-1k class names, in the standard index order (resources/labels/imagenet.txt)."""
    from .. import resources

    path = Path(resources.__file__).resolve().parent / "labels" / "imagenet.txt"
    return path.read_text(encoding="utf-8").splitlines()


def numbered_labels(count: int) -> list[str]:
    return [f"class {i}" for i in range(count)]


# ---------------------------------------------------------------------------------------------- cards
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


def _read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError as exc:
            raise ModelLoadError(f"model card {path.name}: TOML cards need Python 3.11+ or the tomli package") from exc
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ModelLoadError(f"cannot read model card {path.name}: {first_error_line(exc)}") from exc


def read_card(path: str | os.PathLike) -> ModelCard:
    """A model card from JSON or TOML; `labels` may be a list, "imagenet", or a text file beside the card."""
    path = Path(path)
    if path.suffix.lower() == ".toml":
        data = _read_toml(path)
    else:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise ModelLoadError(f"cannot read model card {path.name}: {first_error_line(exc)}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"model card {path.name} must be an object of fields (name, labels, mean, std, ...)")
    return card_from_dict(data, where=path.name, base=path.parent)


def card_from_dict(data: dict, where: str = "model card", base: Path | None = None) -> ModelCard:
    """A checked card from plain data (a card file, a dialog, remembered settings)."""
    data = dict(data)
    labels = data.get("labels")
    if isinstance(labels, str):
        if labels.lower() == "imagenet":
            data["labels"] = imagenet_labels()
        else:
            label_file = (base or Path.cwd()) / labels
            try:
                data["labels"] = [line.strip() for line in label_file.read_text(encoding="utf-8").splitlines()
                                  if line.strip()]
            except (OSError, UnicodeDecodeError) as exc:
                raise ModelLoadError(f"{where}: cannot read labels file {labels}: {first_error_line(exc)}") from exc
    elif labels is None and isinstance(data.get("num_classes"), int):
        data["labels"] = numbered_labels(data["num_classes"])
    data.setdefault("name", Path(where).stem if where.endswith(CARD_SUFFIXES) else "model")
    try:
        card = ModelCard.from_dict(data)
    except TypeError as exc:
        raise ModelLoadError(f"{where}: needs at least 'name' and 'labels' ({first_error_line(exc)})") from exc
    return validate_card(card, where)


def validate_card(card: ModelCard, where: str = "model card") -> ModelCard:
    """One plain message for the first thing wrong with a card."""
    if not isinstance(card.labels, list) or not card.labels or not all(isinstance(x, str) for x in card.labels):
        raise ModelLoadError(f"{where}: 'labels' must be a non-empty list of class names (or \"imagenet\")")
    for key in ("mean", "std"):
        values = getattr(card, key)
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
            raise ModelLoadError(f"{where}: '{key}' must be a list of numbers, one per colour channel")
    if len(card.mean) != len(card.std):
        raise ModelLoadError(f"{where}: 'mean' and 'std' must have one number per channel each "
                             f"(got {len(card.mean)} and {len(card.std)})")
    if any(v <= 0 for v in card.std):
        raise ModelLoadError(f"{where}: every 'std' value must be above 0")
    size = card.input_size
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_INPUT_SIZE):
        raise ModelLoadError(f"{where}: 'input_size' must be a whole number of pixels (1-{MAX_INPUT_SIZE}) "
                             f"or null for any size")
    if not isinstance(card.architecture_args, dict):
        raise ModelLoadError(f"{where}: 'architecture_args' must be an object")
    return card


# ---------------------------------------------------------------------------------------------- sniffing
def sniff_format(path: Path) -> str:
    """The format from the file's first bytes (and zip members), not from its suffix alone."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(32)
    except PermissionError as exc:
        raise ModelLoadError(f"{path.name}: permission denied") from exc
    except IsADirectoryError as exc:
        raise ModelLoadError(f"{path}: is a folder, not a model file") from exc
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
    raise ModelLoadError(f"{path.name} is not a model file AdvLens can read (safetensors, PyTorch .pt/.pth, "
                         f"TorchScript, torch.export .pt2, ONNX)")


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


# ---------------------------------------------------------------------------------------------- readers
def read_model_file(path: Path, trust_pickle: bool = False) -> ModelFile:
    """What a model file holds, read by the loader for its format."""
    kind = sniff_format(path)
    if kind == "safetensors":
        return _read_safetensors(path)
    if kind == "torchscript":
        return _read_torchscript(path)
    if kind == "export":
        return _read_export(path, trust_pickle)
    if kind == "onnx":
        return _read_onnx(path)
    return _read_torch_pickle(path, kind, trust_pickle)


def _read_safetensors(path: Path) -> ModelFile:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except (OSError, SafetensorError, ValueError) as exc:
        raise ModelLoadError(f"cannot read weights {path.name}: {first_error_line(exc)}") from exc
    return ModelFile("safetensors", state_dict=state)


def _read_torchscript(path: Path) -> ModelFile:
    try:
        network = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelLoadError(f"{path.name} is not a readable TorchScript archive: {first_error_line(exc)}") from exc
    return ModelFile("torchscript", network=network)


def _untrusted_message(path: Path, detail: str) -> str:
    return (f"{path.name} is a full Python pickle{detail}: loading it can run any code hidden in it "
            f"(delete or steal your files); open it only if you trust where it came from "
            f"(GUI: tick 'I trust this file'; CLI: --trust-pickle)")


def _read_torch_pickle(path: Path, kind: str, trust_pickle: bool) -> ModelFile:
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


# ---------------------------------------------------------------------------------------------- torch.export
_EXPORT_SAFE_MEMBER = re.compile(
    r"(?:archive_format|archive_version|byteorder|version|\.data/version|\.data/serialization_id"
    r"|models/\w+\.json|data/weights/\w+_weights_config\.json|data/weights/weight_\d+"
    r"|data/constants/\w+_constants_config\.json|data/constants/tensor_\d+|data/sample_inputs/\w+\.pt"
    r"|extra/[\w./-]+)")
_EXPORT_SYMPY_NAMES = frozenset({
    "FloorDiv", "ModularIndexing", "Where", "PythonMod", "Mod", "CleanDiv", "CeilToInt", "FloorToInt", "CeilDiv",
    "LShift", "RShift", "PowByNatural", "FloatPow", "FloatTrueDiv", "IntTrueDiv", "TruncToFloat", "TruncToInt",
    "RoundToInt", "RoundDecimal", "ToFloat", "Identity", "Max", "Min", "Abs", "Eq", "Ne", "Lt", "Le", "Gt", "Ge",
    "And", "Or", "Not", "True", "False", "oo", "floor", "ceiling", "sqrt",
    # sympy's srepr form, which torch writes: Symbol('s0', positive=True, integer=True), Integer(2), ...
    "Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "positive", "negative", "nonnegative",
    "nonpositive", "nonzero", "zero", "integer", "real", "rational", "finite", "infinite", "even", "odd",
    "commutative"})
# Every word in an expression must be a shape symbol or a name above, even inside quotes, so sympify
# can only build arithmetic (no builtins, no attribute access).
_EXPORT_EXPR_CHARS = re.compile(r"[\w\s+\-*/%(),.<>=!&|~'\"]*")
_EXPORT_SYMBOL = re.compile(r"[a-z]+\d+")


def export_archive_risk(path: Path) -> str | None:
    """What in a .pt2 archive could run code while loading (pickles, compiled code, odd expressions), or None.

    torch.export.load unpickles some payloads, loads AOTInductor libraries and evaluates symbolic-shape
    expressions with sympy; an archive of tensor data and a graph of torch operators needs none of that.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                inner = name.split("/", 1)[1] if "/" in name else name
                if name.endswith("/") or _EXPORT_SAFE_MEMBER.fullmatch(inner):
                    continue
                return f"it contains {inner}"
            for name in archive.namelist():
                inner = name.split("/", 1)[1] if "/" in name else name
                if inner.endswith("_config.json"):
                    config = json.loads(archive.read(name))
                    if any(entry.get("use_pickle") for entry in config.get("config", {}).values()):
                        return "it stores pickled objects"
                elif inner.startswith("models/"):
                    problem = _export_graph_problem(json.loads(archive.read(name)))
                    if problem:
                        return problem
                elif inner.startswith("data/sample_inputs/"):
                    try:
                        torch.load(io.BytesIO(archive.read(name)), weights_only=True)
                    except Exception:  # any failure here means torch.export.load would fall back to unpickling
                        return "its sample inputs are a full pickle"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"{path.name} is a corrupt torch.export archive ({first_error_line(exc)})") from exc
    return None


def _export_graph_problem(node: object) -> str | None:
    """Walk the serialized graph: operators must be torch ops, shape expressions plain arithmetic."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            target = item.get("target")
            if isinstance(target, str) and not target.startswith(("torch.ops.", "_operator.")):
                return f"it calls {target[:80]}"
            expr = item.get("expr_str")
            if isinstance(expr, str) and not _safe_expression(expr):
                return f"it has an unusual shape expression {expr[:60]!r}"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _safe_expression(expr: str) -> bool:
    if "__" in expr or not _EXPORT_EXPR_CHARS.fullmatch(expr):
        return False
    return all(_EXPORT_SYMBOL.fullmatch(word) or word in _EXPORT_SYMPY_NAMES
               for word in re.findall(r"[A-Za-z_]\w*", expr))


class ExportedNetwork(nn.Module):
    """A torch.export program as a module. It was frozen in eval mode when exported: train() is a no-op."""

    def __init__(self, program_module: nn.Module, input_shape: tuple[int | None, ...] | None):
        super().__init__()
        self.program = program_module
        self.fixed_batch = input_shape[0] if input_shape else None

    def train(self, mode: bool = True) -> ExportedNetwork:
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            if self.fixed_batch == 1 and x.shape[0] > 1:
                return torch.cat([self.program(image[None]) for image in x])
            return self.program(x)
        except AssertionError as exc:  # the program's shape guards raise AssertionError
            raise RuntimeError(f"the exported program refuses this input ({first_error_line(exc)})") from exc


def _read_export(path: Path, trust_pickle: bool) -> ModelFile:
    risk = export_archive_risk(path)
    if risk and not trust_pickle:
        raise UntrustedModelError(
            f"{path.name} is a torch.export archive that can run code while loading ({risk}); open it only "
            f"if you trust where it came from (GUI: tick 'I trust this file'; CLI: --trust-pickle)")
    try:
        program = torch.export.load(str(path))
        module = program.module()
    except Exception as exc:  # the archive reader raises many types on malformed archives
        raise ModelLoadError(f"{path.name} is not a readable torch.export program: {first_error_line(exc)}") from exc
    shape = _export_input_shape(program)
    notes = []
    if shape is not None and shape[2] is not None:
        notes.append(f"a torch.export program fixed to {shape[3]}x{shape[2]} inputs")
    return ModelFile("export", network=ExportedNetwork(module, shape), input_shape=shape, notes=notes)


def _export_input_shape(program) -> tuple[int | None, ...] | None:
    user_inputs = set(program.graph_signature.user_inputs)
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            value = node.meta.get("val")
            if isinstance(value, torch.Tensor) and value.dim() == 4:
                return tuple(d if isinstance(d, int) else None for d in value.shape)
    return None


# ---------------------------------------------------------------------------------------------- ONNX
class OnnxNetwork(nn.Module):
    """An ONNX graph run by onnxruntime. It gives no gradients: only black-box attacks work on it."""

    gradients_available = False

    def __init__(self, session, input_name: str, input_shape: tuple[int | None, ...]):
        super().__init__()
        self.session = session
        self.input_name = input_name
        self.fixed_batch = input_shape[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        if self.fixed_batch == 1 and len(array) > 1:
            out = np.concatenate([self._run(image[None]) for image in array])
        else:
            out = self._run(array)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).to(x.device)

    def _run(self, array: np.ndarray) -> np.ndarray:
        try:
            return self.session.run(None, {self.input_name: array})[0]
        except Exception as exc:  # onnxruntime's error classes do not derive from RuntimeError
            raise RuntimeError(f"onnxruntime: {first_error_line(exc)}") from exc


def _read_onnx(path: Path) -> ModelFile:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelLoadError(f"{path.name} is an ONNX model: install onnxruntime to open it "
                             f"(pip install onnxruntime)") from exc
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own (non-standard) exception classes
        raise ModelLoadError(f"{path.name} is not a readable ONNX model: {first_error_line(exc)}") from exc
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelLoadError(f"{path.name} takes {len(inputs)} inputs; AdvLens feeds one image batch")
    if inputs[0].type not in ("tensor(float)",):
        raise ModelLoadError(f"{path.name} takes {inputs[0].type}; AdvLens feeds float32 images")
    dims = list(inputs[0].shape)
    if len(dims) != 4:
        raise ModelLoadError(f"{path.name} takes a {len(dims)}-D input; AdvLens feeds (N, C, H, W) images")
    shape = tuple(d if isinstance(d, int) and d > 0 else None for d in dims)
    return ModelFile("onnx", network=OnnxNetwork(session, inputs[0].name, shape), input_shape=shape)


class ConvertedOnnxNetwork(nn.Module):
    """An ONNX graph rebuilt from torch operators by onnx2torch: gradients flow, so every attack works."""

    def __init__(self, converted: nn.Module, input_shape: tuple[int | None, ...] | None):
        super().__init__()
        self.converted = converted
        self.fixed_batch = input_shape[0] if input_shape else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fixed_batch == 1 and x.shape[0] > 1:
            return torch.cat([self.converted(image[None]) for image in x])
        return self.converted(x)


class OnnxConversionFailed(Exception):
    """Why an ONNX graph stays in onnxruntime: the message completes "run by onnxruntime (...)"."""


def _torchvision_stand_ins() -> dict[str, types.ModuleType]:
    def missing(*args, **kwargs):
        raise RuntimeError("this ONNX operator needs torchvision, which is not installed")

    package, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
    ops.nms = ops.roi_align = ops.box_convert = missing
    package.ops = ops
    return {"torchvision": package, "torchvision.ops": ops}


def import_onnx2torch():
    """onnx2torch, which imports even where torchvision is missing.

    Only its NMS and RoiAlign converters import torchvision (at the top of their modules), and PyPI has
    no CPU torchvision for every CPU torch; without torchvision, stand-ins let it import and those two
    operators fail on the conversion check, so such a graph stays in onnxruntime.
    """
    stand_in = (sys.modules.get("onnx2torch") is None and "torchvision" not in sys.modules
                and importlib.util.find_spec("torchvision") is None)
    if stand_in:
        sys.modules.update(_torchvision_stand_ins())
    try:
        return importlib.import_module("onnx2torch")
    except ImportError as exc:
        if exc.name in ("onnx2torch", "onnx"):
            raise OnnxConversionFailed(f"conversion unavailable: {exc.name} is not installed") from exc
        raise OnnxConversionFailed(f"conversion unavailable: onnx2torch cannot be imported "
                                   f"({first_error_line(exc)})") from exc
    except Exception as exc:  # a broken install raises anything while importing
        raise OnnxConversionFailed(f"conversion unavailable: onnx2torch cannot be imported "
                                   f"({first_error_line(exc)})") from exc
    finally:
        if stand_in:
            for name in ("torchvision", "torchvision.ops"):
                sys.modules.pop(name, None)


def _unconvertible(exc: BaseException) -> str:
    found = re.search(r"operation_type='(\w+)', version=(\d+)", str(exc))
    if found:
        return f"conversion failed: onnx2torch has no converter for {found.group(1)} (version {found.group(2)})"
    return f"conversion failed: {first_error_line(exc)}"


def _convert_onnx(path: Path, input_shape: tuple[int | None, ...] | None) -> nn.Module:
    """The graph as a torch module; a graph newer than onnx2torch knows is first converted down to its opset."""
    onnx2torch = import_onnx2torch()
    import onnx
    from onnx import version_converter

    try:
        graph = onnx.load(str(path))
    except Exception as exc:  # protobuf and onnx raise their own classes
        raise OnnxConversionFailed(f"conversion failed: onnx cannot read it ({first_error_line(exc)})") from exc
    try:
        return ConvertedOnnxNetwork(onnx2torch.convert(graph), input_shape)
    except Exception as exc:  # every converter raises what it meets (NotImplementedError, KeyError, ...)
        opset = max((o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")), default=0)
        if opset <= ONNX2TORCH_OPSET:
            raise OnnxConversionFailed(_unconvertible(exc)) from exc
        try:
            older = version_converter.convert_version(graph, ONNX2TORCH_OPSET)
            return ConvertedOnnxNetwork(onnx2torch.convert(older), input_shape)
        except Exception:  # the first error is the one to report
            raise OnnxConversionFailed(_unconvertible(exc)) from exc


def _conversion_difference(converted: nn.Module, runtime: OnnxNetwork, card: ModelCard,
                           input_shape: tuple[int | None, ...] | None) -> float:
    """The largest logit difference from onnxruntime on a test batch; the converted model must give gradients."""
    shape = input_shape or (None, None, None, None)
    side = card.input_size or PROBE_SIZE
    x = torch.randn(1 if shape[0] == 1 else 2, shape[1] or len(card.mean), shape[2] or side, shape[3] or side,
                    generator=torch.Generator().manual_seed(0))
    size = f"{x.shape[3]}x{x.shape[2]}"
    try:
        expected = runtime(x)
    except RuntimeError as exc:
        raise OnnxConversionFailed(f"the conversion could not be checked: onnxruntime fails on a {size} test "
                                   f"input ({first_error_line(exc)})") from exc
    x.requires_grad_(True)
    try:
        with torch.enable_grad():
            got = converted(x)
            if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
                what = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
                raise OnnxConversionFailed(f"conversion failed: the converted model returns {what} where "
                                           f"onnxruntime returns {tuple(expected.shape)}")
            (gradient,) = torch.autograd.grad(got.sum(), x)
    except OnnxConversionFailed:
        raise
    except Exception as exc:  # whatever a converted operator raises on its first input or backward pass
        raise OnnxConversionFailed(f"conversion failed: the converted model fails on a {size} test input "
                                   f"({first_error_line(exc)})") from exc
    difference = (got.detach() - expected).abs().max().item()
    scale = max(1.0, expected.abs().max().item())
    if not difference <= ONNX_TOLERANCE * scale or not torch.isfinite(gradient).all():
        raise OnnxConversionFailed(f"conversion failed: the converted model's logits differ from onnxruntime's "
                                   f"by {difference:.3g} on a test input (allowed: {ONNX_TOLERANCE * scale:.3g})")
    return difference


def onnx_network(path: Path, runtime: OnnxNetwork, card: ModelCard, input_shape: tuple[int | None, ...] | None,
                 use_runtime: bool = False) -> tuple[nn.Module, str]:
    """The onnx2torch conversion of an ONNX graph when it gives onnxruntime's logits, else onnxruntime itself.

    Converting runs no code from the file (ONNX is a protobuf graph of standard operators); the check on a
    test input catches graphs onnx2torch cannot convert and converters that differ from onnxruntime.
    Returns the network and the note that says which path was taken and why.
    """
    try:
        if use_runtime:
            raise OnnxConversionFailed("chosen over converting it to PyTorch")
        converted = _convert_onnx(path, input_shape)
        difference = _conversion_difference(converted, runtime, card, input_shape)
    except OnnxConversionFailed as exc:
        return runtime, (f"an ONNX model run by onnxruntime ({exc}), which gives no gradients: only black-box "
                         f"attacks (such as Square) can attack it")
    return converted, (f"an ONNX model converted to PyTorch with onnx2torch (its logits match onnxruntime's "
                       f"within {difference:.1e}): every attack works")


# ---------------------------------------------------------------------------------------------- named models
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


def known_architectures() -> list[str]:
    """Architecture names a card can use for weights-only files (torchvision's when it is installed)."""
    from .model import ARCHITECTURES, _register_builtin_architectures

    _register_builtin_architectures()
    names = sorted(ARCHITECTURES)
    try:
        models = importlib.import_module("torchvision.models")
        names += [f"torchvision:{n}" for n in models.list_models()]
    except (ImportError, AttributeError):
        pass
    return names


# ---------------------------------------------------------------------------------------------- building
def _strip_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor] | None:
    """Weights saved from a wrapper (DataParallel's `module.`, Lightning's `model.`) without the prefix."""
    firsts = {key.split(".", 1)[0] for key in state}
    if len(firsts) == 1 and all("." in key for key in state):
        prefix = next(iter(firsts)) + "."
        return {key[len(prefix):]: value for key, value in state.items()}
    return None


def _network_from_weights(path: Path, state: dict[str, torch.Tensor], card: ModelCard) -> nn.Module:
    if not card.architecture:
        raise ModelLoadError(f"{path.name} holds only weights: its model card must name the 'architecture' "
                             f"they belong to (e.g. advlens.shapes_cnn or torchvision:resnet18)")
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


def probe(model: Model) -> None:
    """One test image through the model: it must run and give one logit vector per image."""
    size = model.input_size or PROBE_SIZE
    x = torch.full((1, model.input_channels, size, size), 0.5, device=model.device)
    try:
        with torch.no_grad():
            model.checked_logits(x)
    except ModelOutputError as exc:
        cause = exc.__cause__
        if cause is None:
            raise
        hint = "" if model.input_size else "; if it needs a fixed size, set input_size in its model card"
        raise ModelOutputError(f"{model.card.display_name} fails on a {size}x{size} test image with "
                               f"{model.input_channels} channel(s): {first_error_line(cause)}{hint}") from cause


def _resolve_card(card: ModelCard | str | os.PathLike | None, path: Path | None) -> ModelCard | None:
    if isinstance(card, ModelCard):
        return validate_card(card, f"model card of {path.name if path else 'the model'}")
    if card is not None:
        card_path = Path(card)
        if not card_path.is_file():
            raise ModelLoadError(f"no model card at {card_path}")
        return read_card(card_path)
    found = find_card(path) if path is not None else None
    return read_card(found) if found else None


def load_from_source(source: str, device: torch.device, card: ModelCard | str | os.PathLike | None = None,
                     trust_pickle: bool = False, onnx_runtime: bool = False) -> Model:
    """A model from a file or a `torchvision:`/`timm:` name, checked by one test forward pass.

    An ONNX file becomes a torch module with onnx2torch where that gives onnxruntime's logits, else (or
    with `onnx_runtime=True`) it runs in onnxruntime, without gradients (`onnx_network`).
    """
    if source.split(":", 1)[0] in NAMED_SOURCES and not Path(source).exists():
        content, named_card = load_named(source)
        model_card = _resolve_card(card, None) or named_card
        path = None
    else:
        path = Path(source)
        if not path.exists():
            from .model import bundled_models

            names = ", ".join(["demo"] + [b.name for b in bundled_models()])
            raise ModelLoadError(f"no model '{source}': not a bundled model ({names}), not torchvision:NAME or "
                                 f"timm:NAME, nor an existing file")
        if path.is_dir():
            raise ModelLoadError(f"{path} is a folder: choose the model file inside it")
        model_card = _resolve_card(card, path)
        content = read_model_file(path, trust_pickle)
        if model_card is None:
            raise ModelCardMissing(
                f"{path.name} has no model card: put {path.stem}.json or {path.stem}.toml beside it "
                f"(name, labels, mean, std, input_size; see the README) or pass one explicitly",
                path=str(path), suggestion=suggest_card(path, content),
                needs_architecture=content.network is None)
    where = path or Path(source)
    if content.network is None:
        network = _network_from_weights(where, content.state_dict, model_card)
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
    probe(model)
    return model
