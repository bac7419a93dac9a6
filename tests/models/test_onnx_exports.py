"""ONNX files as torch's current default exporter writes them (dynamo, opset 18+, external .onnx.data)."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from torch import nn

pytest.importorskip("onnxscript")  # the dynamo exporter needs it
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx2torch")

from advlens.engine import load_model  # noqa: E402

from .helpers import attack_json  # noqa: E402


class SmallNet(nn.Module):
    """Conv + batch norm + GELU + layer norm + global average pool: ReduceMean 18 and Gelu 20 in the graph."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(8)
        self.norm = nn.LayerNorm(8)
        self.head = nn.Linear(8, 4)

    def forward(self, x):
        x = nn.functional.gelu(self.bn(self.conv(x)))
        x = nn.functional.relu(self.bn2(self.conv2(x)))
        return self.head(self.norm(x.mean(dim=(2, 3)).flatten(1)))


def _export(network: nn.Module, path, size: int = 32) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(network.eval(), (torch.rand(1, 3, size, size),), str(path), external_data=True)
    path.with_suffix(".json").write_text(json.dumps({"name": path.stem, "labels": ["a", "b", "c", "d"],
                                                     "mean": [0.5] * 3, "std": [0.5] * 3}))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "small.onnx"
    torch.manual_seed(0)
    _export(SmallNet(), path)
    return path


def test_the_default_exporter_writes_opset_18_or_newer_with_external_data(exported):
    graph = onnx.load(str(exported), load_external_data=False)
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 18
    assert exported.with_suffix(".onnx.data").is_file()
    assert {"ReduceMean", "Gelu"} <= {n.op_type for n in graph.graph.node}  # opset 18 and 20 forms


def test_a_dynamo_export_converts_with_gradients_and_every_attack_works(exported, capsys):
    model = load_model(exported, "cpu")
    assert model.gradients_available and "converted to PyTorch with onnx2torch" in model.notes[0]
    assert model.fixed_input_size == 32  # the exporter fixed the shape; the card takes it from the graph
    record, _ = attack_json(["--model", exported, "--image", "sample:star", "--attack", "pgd", "--steps", "3",
                             "--no-save"], capsys)
    assert record["norms"]["linf"][0] <= 8 / 255 + 1e-6 and record["shape"] == [1, 3, 32, 32]


def test_a_graph_with_an_operator_onnx2torch_lacks_runs_in_onnxruntime_and_names_it(tmp_path):
    class Sampler(nn.Module):
        def forward(self, x):
            grid = torch.zeros(x.shape[0], 4, 4, 2)
            return nn.functional.grid_sample(x, grid, align_corners=False).flatten(1)[:, :4]

    path = tmp_path / "sampler.onnx"
    _export(Sampler(), path, size=8)
    model = load_model(path, "cpu")
    assert not model.gradients_available
    assert "has no converter for GridSample (sampling the image" in model.notes[0] and "Square" in model.notes[0]
