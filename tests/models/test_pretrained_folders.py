"""Hugging Face and timm save_pretrained folders, hf:ORG/NAME from the local cache, transformers: cards."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

transformers = pytest.importorskip("transformers")
timm = pytest.importorskip("timm")

from advlens.engine import load_model  # noqa: E402
from advlens.engine.errors import ModelLoadError  # noqa: E402

from .helpers import attack_json  # noqa: E402

LABELS = [f"thing {i}" for i in range(10)]


@pytest.fixture(scope="module")
def hf_vit(tmp_path_factory):
    """A tiny ViT classifier saved as Hugging Face does: config.json, model.safetensors, preprocessor_config.json."""
    folder = tmp_path_factory.mktemp("hf") / "tiny-vit"
    config = transformers.ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                    num_attention_heads=2, intermediate_size=64, num_labels=10,
                                    id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)})
    torch.manual_seed(0)
    network = transformers.ViTForImageClassification(config).eval()
    network.save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=[0.4, 0.5, 0.6],
                                   image_std=[0.2, 0.25, 0.3], resample=3).save_pretrained(folder)
    return folder, network


@pytest.fixture(scope="module")
def hf_convnext(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf") / "tiny-convnext"
    config = transformers.ConvNextConfig(hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1], num_labels=5)
    torch.manual_seed(0)
    transformers.ConvNextForImageClassification(config).eval().save_pretrained(folder)
    transformers.ConvNextImageProcessor(size={"shortest_edge": 64}, crop_pct=0.875).save_pretrained(folder)
    return folder


def test_a_hugging_face_folder_opens_with_its_labels_size_and_normalisation(hf_vit):
    folder, network = hf_vit
    model = load_model(folder, "cpu")
    card = model.card
    assert model.kind == "transformers" and card.labels == LABELS and card.input_size == 32
    assert card.mean == pytest.approx([0.4, 0.5, 0.6]) and card.std == pytest.approx([0.2, 0.25, 0.3])
    assert card.interpolation == "bicubic" and card.crop_pct is None and model.fixed_input_size == 32
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        expected = network(pixel_values=(x - model.mean) / model.std).logits
        assert torch.allclose(model(x), expected, atol=1e-5)  # the output object's .logits, unwrapped


def test_a_hugging_face_folder_is_attacked_from_the_command_line(hf_vit, capsys):
    record, err = attack_json(["--model", hf_vit[0], "--image", "sample:star", "--attack", "pgd", "--steps", "3",
                               "--no-save"], capsys)
    assert record["class_names"] == LABELS and record["shape"] == [1, 3, 32, 32]
    assert record["norms"]["linf"][0] <= 8 / 255 + 1e-6
    assert "Loading weights" not in err  # transformers' progress bar stays off the CLI's stderr


def test_a_convnext_folder_keeps_its_crop_and_takes_any_size(hf_convnext):
    model = load_model(hf_convnext, "cpu")
    assert model.card.input_size == 64 and model.card.crop_pct == pytest.approx(0.875)
    assert model.card.accepts_any_size and model.card.labels == [f"class {i}" for i in range(5)]


def test_folders_that_would_run_code_are_refused(hf_vit, tmp_path):
    pickled = tmp_path / "pickled"
    shutil.copytree(hf_vit[0], pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(ModelLoadError, match="only as pytorch_model.bin, a Python pickle"):
        load_model(pickled, "cpu")
    remote = tmp_path / "remote"
    shutil.copytree(hf_vit[0], remote)
    config = json.loads((remote / "config.json").read_text())
    (remote / "config.json").write_text(json.dumps({**config, "auto_map": {"AutoModel": "modeling.Net"}}))
    with pytest.raises(ModelLoadError, match="its own Python code"):
        load_model(remote, "cpu")


def test_hf_names_open_the_local_cache_only(hf_vit, tmp_path, monkeypatch):
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache"):
        load_model("hf:someone/tiny-vit", "cpu")
    snapshot = tmp_path / "hub" / "models--someone--tiny-vit" / "snapshots" / ("a" * 40)
    shutil.copytree(hf_vit[0], snapshot)
    (tmp_path / "hub" / "models--someone--tiny-vit" / "refs").mkdir()
    (tmp_path / "hub" / "models--someone--tiny-vit" / "refs" / "main").write_text("a" * 40)
    model = load_model("hf:someone/tiny-vit", "cpu")
    assert model.card.name == "hf:someone/tiny-vit" and model.card.labels == LABELS


def test_a_timm_folder_opens_and_a_pickled_one_is_refused(tmp_path):
    from timm.models import _hub

    torch.manual_seed(0)
    network = timm.create_model("resnet18", pretrained=False, num_classes=7).eval()
    _hub.save_for_hf(network, tmp_path / "safe", safe_serialization=True)
    model = load_model(tmp_path / "safe", "cpu")
    assert model.kind == "timm" and model.num_classes == 7 and model.card.crop_pct == pytest.approx(0.95)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), network((x - model.mean) / model.std), atol=1e-5)
    _hub.save_for_hf(network, tmp_path / "pickled", safe_serialization=False)
    with pytest.raises(ModelLoadError, match="safetensors only"):
        load_model(tmp_path / "pickled", "cpu")


def test_a_card_can_name_a_transformers_architecture_for_safetensors_weights(hf_vit, tmp_path):
    from safetensors.torch import save_file

    folder, network = hf_vit
    weights = tmp_path / "vit.safetensors"
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(weights))
    config = network.config.to_dict()
    args = {k: config[k] for k in ("image_size", "patch_size", "hidden_size", "num_hidden_layers",
                                   "num_attention_heads", "intermediate_size")} | {"num_labels": len(LABELS)}
    card = {"name": "vit", "labels": LABELS, "mean": [0.5] * 3, "std": [0.5] * 3, "input_size": 32,
            "architecture": "transformers:ViTForImageClassification", "architecture_args": args}
    weights.with_suffix(".json").write_text(json.dumps(card))
    model = load_model(weights, "cpu")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), network(pixel_values=(x - 0.5) / 0.5).logits, atol=1e-5)


def test_an_unknown_architecture_lists_every_family(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2, 2)}, str(tmp_path / "w.safetensors"))
    (tmp_path / "w.json").write_text(json.dumps({"name": "w", "labels": ["a", "b"], "architecture": "mystery"}))
    with pytest.raises(ModelLoadError) as info:
        load_model(tmp_path / "w.safetensors", "cpu")
    message = str(info.value)
    for family in ("advlens.shapes_cnn", "torchvision:resnet18", "timm:", "transformers:"):
        assert family in message
    assert "not installed" not in message
