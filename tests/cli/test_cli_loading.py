"""The command line opens the same model files as the engine: a malicious pickle never runs without --trust-pickle."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import pytest
import torch


def advlens(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advlens", *args], capture_output=True, text=True, timeout=300)


class MarkerPayload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _card(demo_model) -> dict:
    return {"name": "cli-demo", "labels": list(demo_model.labels), "mean": demo_model.card.mean,
            "std": demo_model.card.std}


def test_a_malicious_pickle_is_refused_by_the_cli(tmp_path, demo_model):
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": MarkerPayload(marker)}, evil)
    evil.with_suffix(".json").write_text(json.dumps(_card(demo_model)))
    result = advlens("attack", "--model", str(evil), "--resolution", "16", "--steps", "1", "--no-save")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--trust-pickle" in lines[0]
    assert "evil.pt refused: it contains Python objects that would run code" in lines[0]
    assert not marker.exists()


def test_trust_pickle_and_card_open_a_full_pickle_without_a_card_file(tmp_path, demo_model):
    full = tmp_path / "full.pkl"
    full.write_bytes(pickle.dumps(demo_model.network))
    card = tmp_path / "elsewhere.json"
    card.write_text(json.dumps(_card(demo_model)))
    refused = advlens("attack", "--model", str(full), "--card", str(card), "--resolution", "16", "--steps", "1",
                      "--no-save")
    assert refused.returncode == 2 and "full Python pickle" in refused.stderr
    result = advlens("attack", "--model", str(full), "--card", str(card), "--trust-pickle", "--resolution", "32",
                     "--steps", "2", "--device", "cpu", "--no-save", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model_name"] == "cli-demo" and data["class_names"] == list(demo_model.labels)


def test_a_model_file_without_a_card_says_how_to_give_one(tmp_path, demo_model):
    script = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(demo_model.network), str(script))
    result = advlens("attack", "--model", str(script), "--no-save")
    assert result.returncode == 2
    assert "scripted.pt has no model card" in result.stderr and "scripted.json" in result.stderr
    assert result.stderr.count("\n") == 1
    guessed = json.loads(result.stderr.split("save as scripted.json: ", 1)[1])  # the card it guessed, as JSON
    assert guessed["name"] == "scripted" and len(guessed["labels"]) == demo_model.num_classes


def test_weights_without_a_card_ask_for_the_architecture_too(tmp_path, demo_model):
    from safetensors.torch import save_file

    weights = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in demo_model.network.state_dict().items()}, str(weights))
    result = advlens("attack", "--model", str(weights), "--no-save")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "input_size, architecture;" in result.stderr and '"architecture": "NAME (' in result.stderr


def test_onnx_runtime_flag_keeps_an_onnx_model_in_onnxruntime(tmp_path, demo_model):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    path = tmp_path / "demo.onnx"
    try:
        torch.onnx.export(demo_model.network, (torch.rand(1, 3, 32, 32),), str(path), dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})
    except Exception as exc:  # the exporter is optional machinery
        pytest.skip(f"torch.onnx.export could not build the test model offline: {exc}")
    path.with_suffix(".json").write_text(json.dumps(_card(demo_model)))
    run = ("attack", "--model", str(path), "--attack", "pgd", "--resolution", "32", "--steps", "1", "--device", "cpu",
           "--no-save")
    refused = advlens(*run, "--onnx-runtime")
    assert refused.returncode != 0 and "chosen over converting it to PyTorch" in refused.stderr
    assert "needs the model's gradients" in refused.stderr
    converted = advlens(*run)
    if "converted to PyTorch with onnx2torch" in converted.stderr:  # onnx2torch is installed
        assert converted.returncode == 0, converted.stderr
