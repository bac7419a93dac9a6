"""ONNX graphs: converted to torch by onnx2torch where that gives onnxruntime's logits, else run by onnxruntime.

ONNX is a protobuf graph of standard operators: reading and converting it runs no code from the file.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ModelLoadError, first_error_line
from ..model import ModelCard
from .formats import PROBE_SIZE, ModelFile

ONNX_TOLERANCE = 1e-4  # largest logit difference onnx2torch vs onnxruntime, relative to the logits' scale
ONNX2TORCH_OPSET = 18  # the newest opset onnx2torch 1.5 converts; newer graphs are converted down to it first


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


def read_onnx(path: Path) -> ModelFile:
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
