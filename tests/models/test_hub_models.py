"""torchvision:NAME and timm:NAME through every command that takes a model, random weights, offline."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("torchvision")
pytest.importorskip("timm")

from advlens.engine import RunConfig, load_model, prepare_job  # noqa: E402
from advlens.engine.loaders import hubs  # noqa: E402

from .helpers import attack_json, run_cli  # noqa: E402


def test_a_torchvision_resnet_is_attacked_within_budget_on_a_centre_crop_and_replays_identically(
        photo_file, tmp_path, capsys):
    out = tmp_path / "run"
    record, err = attack_json(["--model", "torchvision:resnet18", "--image", photo_file, "--attack", "pgd",
                               "--steps", "2", "--out", out], capsys)
    assert "RANDOM weights (seed 0" in err and "offline" in err
    assert "centre 224x224 is cut out" in err and "crop_pct 0.875" in err  # torchvision's resize 256, crop 224
    assert "its own clean prediction" in err  # a photo has no label: the model's own prediction is the class
    assert record["shape"] == [1, 3, 224, 224]
    assert record["norms"]["linf"][0] <= 8 / 255 + 1e-6 and "l1" in record["norms"]
    assert any("RANDOM weights" in note for note in record["model_notes"])
    code, replay, err = run_cli(["runs", "replay", out, "--device", "cpu"], capsys)
    assert code == 0, replay + err  # the same random weights on every load: the replay matches


def test_fit_squash_and_pad_are_choices_and_change_what_the_model_sees(photo_file, capsys):
    model = load_model("timm:resnet18", "cpu")
    seen = {}
    for fit in ("crop", "squash", "pad"):
        job = prepare_job(RunConfig(model="timm:resnet18", image=str(photo_file), fit=fit, device="cpu"), model=model)
        seen[fit] = job.images
        assert job.images.shape == (1, 3, 224, 224)
    assert not torch.allclose(seen["crop"], seen["squash"]) and not torch.allclose(seen["squash"], seen["pad"])
    pad_rows = seen["pad"][0, :, :30, :]  # a 3:2 photo padded top and bottom with the model's mean colour
    mean = torch.tensor(model.card.mean).reshape(3, 1, 1)
    assert torch.allclose(pad_rows, mean.expand_as(pad_rows), atol=1e-6)


def test_random_weights_are_the_same_on_every_load_and_cnns_take_any_size():
    first, second = load_model("timm:resnet18", "cpu"), load_model("timm:resnet18", "cpu")
    x = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.equal(first(x), second(x))
    assert first.card.accepts_any_size and first.fixed_input_size is None
    vit = load_model("timm:vit_tiny_patch16_224", "cpu")
    assert vit.fixed_input_size == 224 and vit.card.interpolation == "bicubic" and vit.card.crop_pct == 0.9


def test_offline_a_timm_name_never_retries_a_download(capfd, monkeypatch):
    asked = []
    monkeypatch.setattr(hubs, "hub_reachable", lambda host, timeout=0: asked.append(host) or False)
    model = load_model("timm:convnext_atto", "cpu")
    _, err = capfd.readouterr()
    assert "Retrying" not in err and asked == ["huggingface.co"]
    assert "RANDOM weights (seed 0" in model.notes[0] and model.card.accepts_any_size


def test_with_the_network_switched_off_by_the_environment_no_connection_is_tried(monkeypatch):
    monkeypatch.setattr(hubs, "_reachable", {})
    monkeypatch.setattr(hubs.socket, "create_connection",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("tried the network")))
    assert hubs.hub_reachable("huggingface.co") is False


def test_a_model_with_constant_outputs_says_so_and_its_outcome_does_not_contradict_itself(capsys):
    """torchvision's vit_b_16 starts with a head of zeros: every score ties. The prediction shown is the
    one the attack's criterion judges (the logits' argmax), so 'clean X, adversarial X, success yes'
    cannot happen."""
    record, err = attack_json(["--model", "torchvision:vit_b_16", "--image", "sample:star", "--attack", "fgsm",
                               "--no-save"], capsys)
    assert "outputs are constant" in err
    assert "its own clean prediction" in err  # a star is no ImageNet class: the sample's demo label is not used
    assert record["success"] == [False] and record["clean_pred"] == record["adv_pred"] == record["labels"]


def test_sweep_and_analyze_draw_images_at_the_models_size_and_say_why(photo_folder, capsys):
    code, out, err = run_cli(["sweep", "--model", "timm:vit_tiny_patch16_224", "--images", photo_folder,
                              "--eps", "0:2:1/255", "--steps", "2", "--device", "cpu"], capsys)
    assert code == 0, err
    assert "takes 224x224 images" in err and "RANDOM weights" in err and "no labels" in err
    assert "224px" in out and "clean 100.0%" in out
    code, out, err = run_cli(["analyze", "noise", "--model", "torchvision:resnet18", "--images", photo_folder,
                              "--steps", "2", "--device", "cpu", "--json"], capsys)
    assert code == 0, err
    assert "trained at 224x224 (it takes any size)" in err and "centre 224x224 is cut out" in err
    assert json.loads(out)["images"] == 2


def test_the_resolution_lab_sees_an_any_size_cnn_natively(capsys):
    code, out, err = run_cli(["resolution", "--model", "timm:resnet18", "--images", "demo:2", "--resolutions", "32,48",
                              "--steps", "5", "--norms", "l2", "--device", "cpu", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["model_mode"] == "native"
    assert any("accepts any size" in note and "trained at 224 px" in note for note in result["notes"])
    assert not any("bilinear shrinking" in note for note in result["notes"])


def test_the_resolution_lab_on_a_fixed_size_vit_says_every_size_is_enlarged(capsys):
    from advlens.engine.labs.resolution import ResolutionLabConfig, model_notes

    model = load_model("timm:vit_tiny_patch16_224", "cpu")
    notes = model_notes(model, "resize", ResolutionLabConfig(model="timm:vit_tiny_patch16_224", resolutions=[32, 64]))
    assert any("every size is enlarged" in n for n in notes) and not any("shrinking forces" in n for n in notes)
