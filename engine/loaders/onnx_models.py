"""ONNX graphs: converted to torch by onnx2torch where that gives onnxruntime's logits, else run by onnxruntime.

ONNX is a protobuf graph of standard operators: reading and converting it runs no code from the file.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
import warnings
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


# Operators whose newer versions changed only how an argument arrives (an attribute became an input) or
# added options with defaults that keep the old meaning: onnx2torch 1.5's converter for the older version
# is right for them when the new argument is a constant or left at its default.
REDUCTIONS = ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
              "ReduceLogSumExp", "ReduceSumSquare")
PLAIN_OPERATORS = {  # what an operator does, for a message a person can read
    "ReduceMean": "mean over axes", "ReduceMax": "maximum over axes", "ReduceSum": "sum over axes",
    "Split": "split into pieces", "Pad": "padding", "Resize": "image resize", "Attention": "attention block",
    "LayerNormalization": "layer normalisation", "GroupNormalization": "group normalisation",
    "Gelu": "GELU activation", "Einsum": "einsum product", "If": "if/else branch", "Loop": "loop",
    "ScatterND": "scatter", "NonMaxSuppression": "non-maximum suppression", "RoiAlign": "RoI align",
    "GlobalMaxPool": "global max pooling", "GridSample": "sampling the image at given points",
    "Col2Im": "folding patches back into an image", "DeformConv": "deformable convolution",
}


def _reduce_with_axes_input(node, graph):
    """Reduce* from opset 18 on: the axes arrive as a (constant) second input instead of an attribute."""
    from onnx2torch.node_converters.reduce import OnnxReduceStaticAxes
    from onnx2torch.utils.common import OnnxMapping, OperationConverterResult, get_const_value

    axes = None
    if len(node.input_values) > 1 and node.input_values[1]:
        try:
            axes = [int(a) for a in get_const_value(node.input_values[1], graph).reshape(-1).tolist()]
        except KeyError as exc:
            raise NotImplementedError(f"{node.operation_type} with axes computed at run time") from exc
    if not axes and node.attributes.get("noop_with_empty_axes", 0):
        raise NotImplementedError(f"{node.operation_type} with noop_with_empty_axes")
    module = OnnxReduceStaticAxes(operation_type=node.operation_type, axes=axes or None,
                                  keepdims=node.attributes.get("keepdims", 1))
    return OperationConverterResult(torch_module=module,
                                    onnx_mapping=OnnxMapping(inputs=(node.input_values[0],), outputs=node.output_values))


def _older_converter(operation: str, version: int, unsupported):
    """The converter of an older version, refusing the nodes that use what the newer version added."""
    from onnx2torch.node_converters.registry import get_converter

    older = get_converter(operation, version)

    def convert(node, graph):
        problem = unsupported(node)
        if problem:
            raise NotImplementedError(f"{operation} with {problem}")
        return older(node, graph)

    return convert


def _resize_novelty(node) -> str | None:
    attrs = node.attributes
    if attrs.get("antialias", 0):
        return "antialias"
    if attrs.get("axes") is not None:
        return "axes"
    if attrs.get("keep_aspect_ratio_policy", "stretch") not in ("stretch", b"stretch"):
        return "keep_aspect_ratio_policy"
    return None


# Versions that only widened the element types (bfloat16, float8, int4 ...): the float32 graphs AdvLens
# feeds mean what they meant in the version before.
TYPE_ONLY_VERSIONS: dict[str, tuple[int, ...]] = {
    "Conv": (22,), "ConvTranspose": (22,), "MaxPool": (22,), "AveragePool": (19, 22), "GlobalAveragePool": (22,),
    "HardSigmoid": (22,), "HardSwish": (22,), "Softplus": (22,), "Dropout": (22,), "InstanceNormalization": (22,),
    "Reshape": (19, 21, 23), "Flatten": (21, 23), "Transpose": (21, 23), "Squeeze": (23,), "Unsqueeze": (21, 23),
    "Cast": (19, 21, 23), "Constant": (19, 21, 23), "ConstantOfShape": (20, 21, 23), "Shape": (19, 21, 23),
    "Identity": (19, 21, 23), "Equal": (19,),
}


def _pool_novelty(node) -> str | None:
    dilations = node.attributes.get("dilations")
    return "dilations" if dilations is not None and any(int(d) != 1 for d in dilations) else None


def _gelu(node, graph):
    """Gelu (opset 20): the exporter writes it as one operator where older opsets spelled it out with Erf."""
    from onnx2torch.utils.common import OperationConverterResult, onnx_mapping_from_node

    approximate = node.attributes.get("approximate", "none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else str(approximate)
    return OperationConverterResult(torch_module=nn.GELU(approximate=approximate),
                                    onnx_mapping=onnx_mapping_from_node(node))


class AllowZeroReshape(nn.Module):
    """Reshape with allowzero=1 (which the dynamo exporter writes): a 0 in the shape means a zero-size
    dimension, not "keep this one"; for the shapes of real graphs (no zeros) the two read the same."""

    def forward(self, x: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        return torch.reshape(x, [int(d) for d in shape.tolist()])


def _reshape(older):
    def convert(node, graph):
        if node.attributes.get("allowzero", 0) != 1:
            return older(node, graph)
        from onnx2torch.utils.common import OperationConverterResult, onnx_mapping_from_node

        return OperationConverterResult(torch_module=AllowZeroReshape(), onnx_mapping=onnx_mapping_from_node(node))

    convert.advlens = True
    return convert


def register_newer_opsets() -> None:
    """Teach onnx2torch 1.5 the opset 18-23 versions of the operators torch's current default exporter
    (dynamo, opset 18 and up) writes: without them a ResNet's global average pool (ReduceMean 18) and
    every Reshape (19) already stop the conversion. Each is either an older converter whose meaning did not
    change (refusing the nodes that use what the new version added) or, for Gelu and the Reduce* family
    whose axes became an input, a small converter of our own. Added once; existing converters are kept."""
    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, OperationDescription, add_converter

    def add(operation: str, version: int, converter) -> None:
        if OperationDescription("", operation, version) not in _CONVERTER_REGISTRY:
            add_converter(operation_type=operation, version=version)(converter)

    def newest_before(operation: str, version: int) -> int | None:
        versions = [d.version for d in _CONVERTER_REGISTRY if d.domain == "" and d.operation_type == operation
                    and d.version < version]
        return max(versions, default=None)

    for operation in REDUCTIONS:
        add(operation, 18, _reduce_with_axes_input)
    for operation in ("ReduceMax", "ReduceMin"):
        add(operation, 20, _reduce_with_axes_input)
    add("Gelu", 20, _gelu)
    add("Split", 18, _older_converter("Split", 13, lambda node: None))
    for version in (18, 19, 21, 23):
        add("Pad", version, _older_converter("Pad", 13, lambda node: "axes" if len(node.input_values) > 3 else None))
    for version in (18, 19):
        add("Resize", version, _older_converter("Resize", 13, _resize_novelty))
    for operation, versions in TYPE_ONLY_VERSIONS.items():
        for version in versions:
            older = newest_before(operation, version)
            if older is not None:
                check = _pool_novelty if operation == "AveragePool" else (lambda node: None)
                add(operation, version, _older_converter(operation, older, check))
    for description, converter in list(_CONVERTER_REGISTRY.items()):
        if description.operation_type == "Reshape" and description.version >= 14 and not hasattr(converter, "advlens"):
            _CONVERTER_REGISTRY[description] = _reshape(converter)


def _unconvertible(exc: BaseException) -> str:
    text = str(exc)
    found = re.search(r"operation_type='(\w+)', version=(\d+)", text)
    if found:
        name, version = found.group(1), found.group(2)
        plain = PLAIN_OPERATORS.get(name)
        return (f"conversion failed: onnx2torch has no converter for {name}"
                f"{f' ({plain})' if plain else ''}, operator version {version}")
    if isinstance(exc, NotImplementedError) and re.match(r"\w+ with ", text):
        name = text.split(" ", 1)[0]
        plain = PLAIN_OPERATORS.get(name)
        return (f"conversion failed: onnx2torch has no converter for {name}{f' ({plain})' if plain else ''}"
                f" used {text.split(' ', 1)[1]}")
    if isinstance(exc, KeyError):
        return (f"conversion failed: the graph refers to {text}, a value onnx2torch cannot find among its "
                f"inputs, weights or earlier results")
    return f"conversion failed: {first_error_line(exc)}"


def fold_weight_identities(model) -> int:
    """Replace Identity nodes that only rename a weight by a copy of the weight under the new name.

    torch's exporters write one initializer per distinct tensor and an Identity for each repeat (random or
    freshly initialised networks repeat a lot: every folded batch-norm bias is zeros), and onnx2torch reads
    a Conv's weights from the initializers alone. Returns how many nodes were folded.
    """
    from onnx import numpy_helper

    weights = {init.name: init for init in model.graph.initializer}
    folded = []
    for node in model.graph.node:
        if node.op_type == "Identity" and node.domain in ("", "ai.onnx") and node.input[0] in weights:
            copy = numpy_helper.from_array(numpy_helper.to_array(weights[node.input[0]]), node.output[0])
            model.graph.initializer.append(copy)
            weights[node.output[0]] = copy
            folded.append(node)
    for node in folded:
        model.graph.node.remove(node)
    return len(folded)


def _convert_onnx(path: Path, input_shape: tuple[int | None, ...] | None) -> nn.Module:
    """The graph as a torch module; a graph newer than onnx2torch knows is first converted down to its opset."""
    onnx2torch = import_onnx2torch()
    import onnx
    from onnx import version_converter

    register_newer_opsets()
    # onnx2torch's Slice indexes with a list, which torch warns about once; the logits check below is
    # what tells whether the converted graph is right, so the warning only alarms a person.
    warnings.filterwarnings("ignore", message="Using a non-tuple sequence for multidimensional indexing",
                            category=UserWarning)

    try:
        graph = onnx.load(str(path))
    except Exception as exc:  # protobuf and onnx raise their own classes
        raise OnnxConversionFailed(f"conversion failed: onnx cannot read it ({first_error_line(exc)})") from exc
    try:
        fold_weight_identities(graph)
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
