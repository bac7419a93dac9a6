"""One identity per model, whatever it is called: the transfer table never compares a model with itself."""

from __future__ import annotations

import os

import pytest

from advlens.engine.analysis.requests import AnalysisRequest, transfer_models
from advlens.engine.errors import ConfigError
from advlens.engine.model_names import (
    bundled_models_dir,
    distinct_models,
    model_identity,
    model_label,
    repeated_models,
)


def test_an_alias_and_its_bundled_name_are_one_model():
    assert model_identity("demo") == model_identity("shapes-cnn") == "bundled:shapes-cnn"
    assert model_identity("demo-r32") == model_identity("shapes-cnn-r32")
    assert model_identity("shapes-cnn-quantized") != model_identity("shapes-cnn")  # its own card, its own model
    assert model_label("demo") == "shapes-cnn"


def test_the_bundled_weights_opened_by_path_are_the_bundled_model(tmp_path, monkeypatch):
    weights = bundled_models_dir() / "shapes-cnn.safetensors"
    assert model_identity(str(weights)) == "bundled:shapes-cnn"
    monkeypatch.chdir(bundled_models_dir())
    assert model_identity("./shapes-cnn.json") == "bundled:shapes-cnn"
    copy = tmp_path / "shapes-cnn.safetensors"  # a copy elsewhere is a file of its own
    copy.write_bytes(b"x")
    assert model_identity(str(copy)) == f"file:{copy.resolve()}"


def test_a_file_under_two_paths_is_one_model(tmp_path, monkeypatch):
    model = tmp_path / "net.pt"
    model.write_bytes(b"x")
    link = tmp_path / "link.pt"
    os.symlink(model, link)
    monkeypatch.chdir(tmp_path)
    assert model_identity("net.pt") == model_identity(str(model)) == model_identity(str(link))
    assert model_label(str(link)) == "net.pt"
    assert model_identity("torchvision:resnet18") == "torchvision:resnet18"


def test_distinct_models_drop_the_model_analysed_and_repeats_in_order(tmp_path):
    others = ["shapes-cnn", "shapes-cnn-quantized", "demo", "shapes-cnn-saturated", "shapes-cnn-quantized"]
    assert distinct_models("demo", others) == ["shapes-cnn-quantized", "shapes-cnn-saturated"]
    assert repeated_models("demo", others) == ["shapes-cnn", "demo", "shapes-cnn-quantized"]
    assert repeated_models("demo", ["x.pt", "x.pt"]) == ["x.pt"]


def test_a_transfer_request_naming_one_model_twice_is_refused():
    with pytest.raises(ConfigError, match="shapes-cnn"):
        AnalysisRequest("transfer", model="demo", other_models=["shapes-cnn"]).checked()
    with pytest.raises(ConfigError, match="demo"):
        AnalysisRequest("transfer", model="shapes-cnn-quantized", other_models=["demo", "shapes-cnn"]).checked()
    ok = AnalysisRequest("transfer", model="demo", other_models=["shapes-cnn-quantized"]).checked()
    assert ok.other_models == ["shapes-cnn-quantized"]


def test_the_transfer_table_names_models_by_their_bundled_names_and_refuses_a_second_name():
    a, b = object(), object()
    assert list(transfer_models("demo", a, {"shapes-cnn-quantized": b})) == ["shapes-cnn", "shapes-cnn-quantized"]
    with pytest.raises(ConfigError, match="same model as the model attacked"):
        transfer_models("demo", a, {"shapes-cnn": b})
