"""ONNX graphs in the forms today's exporters write (opset 20: ReduceMean with an axes input, Gelu, Reshape
with allowzero, a weight repeated through Identity), built by hand so the main suite needs no exporter."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
if importlib.util.find_spec("onnx2torch") is None:  # importing it needs torchvision: AdvLens stands in for it
    pytest.skip("onnx2torch is not installed", allow_module_level=True)

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from advlens.engine import load_model  # noqa: E402
from advlens.engine.loaders.onnx_models import fold_weight_identities  # noqa: E402


def _graph(extra_op: str | None = None):
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "conv_w"),
               numpy_helper.from_array(np.zeros(4, np.float32), "conv_b"),
               numpy_helper.from_array(np.array([2, 3], np.int64), "axes"),
               numpy_helper.from_array(np.array([1, 4], np.int64), "shape"),
               numpy_helper.from_array(rng.normal(size=(5, 4)).astype(np.float32), "fc_w")]
    nodes = [helper.make_node("Identity", ["conv_b"], ["conv_b_again"]),
             helper.make_node("Conv", ["x", "conv_w", "conv_b_again"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Gelu", ["c"], ["g"]),
             helper.make_node("ReduceMean", ["g", "axes"], ["r"], keepdims=0),
             helper.make_node("Reshape", ["r", "shape"], ["flat"], allowzero=1),
             helper.make_node("Gemm", ["flat", "fc_w"], ["logits"], transB=1)]
    if extra_op == "GridSample":
        weights.append(numpy_helper.from_array(np.zeros((1, 2, 2, 2), np.float32), "grid"))
        nodes.insert(0, helper.make_node("GridSample", ["x_in", "grid"], ["x"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x_in" if extra_op else "x",
                                                                          TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], ir_version=10)
    onnx.checker.check_model(model)
    return model


def _save(model, path):
    onnx.save(model, str(path))
    path.with_suffix(".json").write_text(json.dumps({"name": path.stem, "labels": list("abcde"), "mean": [0.5] * 3,
                                                     "std": [0.5] * 3}))
    return path


def test_an_opset_20_graph_converts_with_gradients(tmp_path):
    model = load_model(_save(_graph(), tmp_path / "new.onnx"), "cpu")
    assert model.gradients_available and "converted to PyTorch with onnx2torch" in model.notes[0]
    assert model.fixed_input_size == 8


def test_repeated_weights_are_folded_back_into_initializers():
    graph = _graph()
    assert fold_weight_identities(graph) == 1
    assert "conv_b_again" in {init.name for init in graph.graph.initializer}
    assert "Identity" not in {node.op_type for node in graph.graph.node}


def test_an_operator_without_a_converter_is_named_and_the_graph_runs_in_onnxruntime(tmp_path):
    model = load_model(_save(_graph("GridSample"), tmp_path / "grid.onnx"), "cpu")
    assert not model.gradients_available
    assert "has no converter for GridSample (sampling the image" in model.notes[0]
