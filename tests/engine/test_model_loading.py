"""Model files as people have them: every format round-trips the demo, every bad model gets one message.

A crafted malicious pickle (its __reduce__ would create a marker file) must never run: the marker
never appears unless the person explicitly trusts the file.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import types
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from advlens.engine import AttackConfig, RunConfig, prepare_job
from advlens.engine.errors import (
    ConfigError,
    ModelCardMissing,
    ModelLoadError,
    ModelOutputError,
    UntrustedModelError,
)
from advlens.engine.loaders import (
    card_from_dict,
    file_identity,
    imagenet_labels,
    load_model,
    onnx_models,
    read_card,
)
from advlens.engine.loaders.export import export_archive_risk
from advlens.engine.loaders.onnx_models import OnnxConversionFailed, import_onnx2torch
from advlens.engine.session import execute

DEMO_INPUT = 32


class MarkerPayload:
    """Unpickling this creates the marker file: what a malicious model file would do, harmlessly."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _card(demo_model, **changes) -> dict:
    card = demo_model.card.to_dict()
    card.pop("extra", None)
    card.update(changes)
    return card


def _write_card(model_path: Path, card: dict) -> Path:
    path = model_path.with_suffix(".json")
    path.write_text(json.dumps(card))
    return path


def _export_program(network: nn.Module, size: int = DEMO_INPUT) -> torch.export.ExportedProgram:
    batch = torch.export.Dim("batch", min=1, max=64)
    return torch.export.export(network, (torch.rand(2, 3, size, size),), dynamic_shapes={"x": {0: batch}})


def _onnx_export(network: nn.Module, example: torch.Tensor, path: Path, dynamic: bool = True) -> Path:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    axes = {"x": {0: "n", 2: "h", 3: "w"}} if dynamic else None
    try:
        torch.onnx.export(network, (example,), str(path), dynamo=False, input_names=["x"], output_names=["logits"],
                          dynamic_axes=axes)
    except Exception as exc:  # the exporter is optional machinery; without it there is no ONNX file to test
        pytest.skip(f"torch.onnx.export could not build the test model offline: {exc}")
    return path


@pytest.fixture(scope="module")
def demo_files(demo_model, tmp_path_factory) -> dict[str, Path]:
    """The demo network saved in every format, each with a card beside it."""
    folder = tmp_path_factory.mktemp("formats")
    network = demo_model.network
    state = {k: v.contiguous() for k, v in network.state_dict().items()}
    files = {
        "safetensors": folder / "demo.safetensors",
        "state_dict": folder / "demo-state.pth",
        "checkpoint": folder / "demo-checkpoint.ckpt",
        "torchscript": folder / "demo-script.pt",
        "export": folder / "demo-export.pt2",
        "trusted_pickle": folder / "demo-full.pt",
    }
    save_file(state, str(files["safetensors"]))
    torch.save(state, files["state_dict"])
    torch.save({"epoch": 7, "state_dict": {f"module.{k}": v for k, v in state.items()}}, files["checkpoint"])
    torch.jit.save(torch.jit.script(network), str(files["torchscript"]))
    torch.export.save(_export_program(network), str(files["export"]))
    torch.save(network, files["trusted_pickle"])
    for kind, path in files.items():
        weights_only = kind in ("safetensors", "state_dict", "checkpoint")
        _write_card(path, _card(demo_model, architecture=demo_model.card.architecture if weights_only else ""))
    return files


# ------------------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("kind", ["safetensors", "state_dict", "checkpoint", "torchscript", "export",
                                  "trusted_pickle"])
def test_every_format_round_trips_the_demo_logits(kind, demo_files, demo_model):
    model = load_model(demo_files[kind], "cpu", trust_pickle=kind == "trusted_pickle")
    x = torch.rand(3, 3, DEMO_INPUT, DEMO_INPUT, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        difference = (model(x) - demo_model(x)).abs().max().item()
    assert difference <= 1e-5
    assert model.labels == demo_model.labels
    expected_kind = {"checkpoint": "state_dict", "trusted_pickle": "pickle"}.get(kind, kind)
    assert model.kind == expected_kind and model.gradients_available


@pytest.fixture(scope="module")
def demo_onnx(demo_model, tmp_path_factory) -> Path:
    """The demo exported to ONNX by torch's exporter (its default opset, newer than onnx2torch's)."""
    path = tmp_path_factory.mktemp("onnx") / "demo.onnx"
    _onnx_export(demo_model.network, torch.rand(1, 3, DEMO_INPUT, DEMO_INPUT), path)
    _write_card(path, _card(demo_model))
    return path


def _needs_onnx2torch() -> None:
    try:
        import_onnx2torch()
    except OnnxConversionFailed as exc:
        pytest.skip(str(exc))


def _max_pool_graph(path: Path, weights: np.ndarray) -> Path:
    """Global max pooling then a linear layer: onnxruntime runs it; onnx2torch has no GlobalMaxPool converter."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("GlobalMaxPool", ["x"], ["pooled"]), helper.make_node("Flatten", ["pooled"], ["flat"]),
         helper.make_node("MatMul", ["flat", "w"], ["logits"])], "max-pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", weights.shape[1]])],
        [numpy_helper.from_array(weights, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _only_black_box_attacks_run(model) -> None:
    config = RunConfig(image="sample:star", resolution=DEMO_INPUT, attack=AttackConfig(attack="pgd", steps=2))
    with pytest.raises(ConfigError, match="needs the model's gradients.*ONNX.*Square"):
        prepare_job(config, model=model)
    config.attack = AttackConfig(attack="square", eps=8 / 255, steps=3)
    record = execute(prepare_job(config, model=model))
    assert record.status == "finished" and record.norms["linf"][0] <= 8 / 255 + 1e-6


def test_onnx_converts_to_torch_with_the_same_logits_and_every_attack_works(demo_onnx, demo_model):
    _needs_onnx2torch()
    model = load_model(demo_onnx, "cpu")
    x = torch.rand(3, 3, DEMO_INPUT, DEMO_INPUT, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert (model(x) - demo_model(x)).abs().max().item() <= 1e-4
    assert model.kind == "onnx" and model.gradients_available and "torchvision" not in sys.modules
    assert len(model.notes) == 1 and "converted to PyTorch with onnx2torch" in model.notes[0]
    config = RunConfig(image="sample:star", resolution=DEMO_INPUT,
                       attack=AttackConfig(attack="pgd", eps=8 / 255, steps=3))
    record = execute(prepare_job(config, model=model))
    assert record.status == "finished" and record.steps_run == 3
    assert 0 < record.norms["linf"][0] <= 8 / 255 + 1e-6


def test_an_onnx_graph_onnx2torch_cannot_convert_runs_in_onnxruntime_for_black_box_attacks(demo_model, tmp_path):
    weights = np.random.default_rng(0).standard_normal((3, 10)).astype(np.float32)
    path = _max_pool_graph(tmp_path / "max-pool.onnx", weights)
    _write_card(path, _card(demo_model, mean=[0.0] * 3, std=[1.0] * 3))
    model = load_model(path, "cpu")
    x = torch.rand(2, 3, DEMO_INPUT, DEMO_INPUT, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.allclose(model(x), x.amax(dim=(2, 3)) @ torch.from_numpy(weights), atol=1e-5)
    assert model.kind == "onnx" and not model.gradients_available
    (note,) = model.notes
    assert "run by onnxruntime" in note and "no gradients" in note
    if "conversion unavailable" not in note:  # onnx2torch installed: it says which operator it lacks
        assert "conversion failed: onnx2torch has no converter for GlobalMaxPool" in note
    _only_black_box_attacks_run(model)


class WrongLogits(nn.Module):
    """What a converter that differs from onnxruntime would give: logits of the right shape, wrong values."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3))[:, None].expand(-1, 10)


@pytest.mark.parametrize("why", ["chosen", "not installed", "disagrees"])
def test_onnx_stays_in_onnxruntime_and_says_why(why, demo_onnx, demo_model, monkeypatch):
    if why == "not installed":
        monkeypatch.setitem(sys.modules, "onnx2torch", None)
    if why == "disagrees":
        monkeypatch.setattr(onnx_models, "_convert_onnx",
                            lambda path, shape: onnx_models.ConvertedOnnxNetwork(WrongLogits(), shape))
    model = load_model(demo_onnx, "cpu", onnx_runtime=why == "chosen")
    x = torch.rand(3, 3, DEMO_INPUT, DEMO_INPUT, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert (model(x) - demo_model(x)).abs().max().item() <= 1e-4
    assert not model.gradients_available and isinstance(model.network, onnx_models.OnnxNetwork)
    reason = {"chosen": "(chosen over converting it to PyTorch)",
              "not installed": "(conversion unavailable: onnx2torch is not installed)",
              "disagrees": "(conversion failed: the converted model's logits differ from onnxruntime's by"}[why]
    (note,) = model.notes
    assert note.startswith(f"an ONNX model run by onnxruntime {reason}") and "no gradients" in note
    if why == "chosen":
        _only_black_box_attacks_run(model)


def test_a_gradient_attack_runs_on_a_torchscript_model(demo_files):
    model = load_model(demo_files["torchscript"], "cpu")
    config = RunConfig(image="sample:star", resolution=DEMO_INPUT, attack=AttackConfig(attack="pgd", steps=2))
    record = execute(prepare_job(config, model=model))
    assert record.status == "finished" and record.steps_run == 2 and record.norms["linf"][0] > 0


def test_toml_card_with_imagenet_labels_and_a_labels_file(tmp_path):
    labels = tmp_path / "names.txt"
    labels.write_text("cat\ndog\n\nbird\n")
    card = tmp_path / "net.toml"
    card.write_text('name = "net"\nlabels = "names.txt"\nmean = [0.5]\nstd = [0.25]\ninput_size = 28\n')
    parsed = read_card(card)
    assert parsed.labels == ["cat", "dog", "bird"] and parsed.mean == [0.5] and parsed.input_size == 28
    big = card_from_dict({"name": "x", "labels": "imagenet", "mean": [0.5] * 3, "std": [0.5] * 3})
    assert len(big.labels) == 1000


def test_imagenet_labels_ship_in_standard_order():
    labels = imagenet_labels()
    assert len(labels) == 1000 and len(set(labels)) == 1000
    assert (labels[0], labels[1], labels[207], labels[281], labels[409], labels[999]) == (
        "tench", "goldfish", "golden retriever", "tabby", "analog clock", "toilet tissue")


def test_a_grey_model_gets_colour_images_as_luma_and_says_so(tmp_path):
    class GreyNet(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([x.mean(dim=(2, 3)), -x.mean(dim=(2, 3))], dim=1)

    path = tmp_path / "grey.pt"
    torch.jit.save(torch.jit.script(GreyNet()), str(path))
    _write_card(path, {"name": "grey", "labels": ["light", "dark"], "mean": [0.0], "std": [1.0]})
    model = load_model(path, "cpu")
    assert any("grey" in note for note in model.notes)
    rgb = torch.zeros(1, 3, 8, 8)
    rgb[:, 1] = 1.0  # pure green
    assert model(rgb)[0, 0].item() == pytest.approx(0.587, abs=1e-6)
    job = prepare_job(RunConfig(image="sample:star", resolution=16, attack=AttackConfig(steps=1)), model=model, label=0)
    assert job.images.shape[1] == 3  # the attack perturbs the colour image; the model sees grey


def test_file_identity_changes_when_the_file_changes(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(b"one")
    before = file_identity(path)
    path.write_bytes(b"other")
    assert file_identity(path) != before and str(path.resolve()) in before


# ------------------------------------------------------------------------------------------ cards
def test_a_file_without_a_card_raises_with_a_suggested_card(demo_files, demo_model, tmp_path):
    script = tmp_path / "nocard.pt"
    script.write_bytes(demo_files["torchscript"].read_bytes())
    with pytest.raises(ModelCardMissing, match="nocard.pt has no model card") as info:
        load_model(script, "cpu")
    guess = info.value.suggestion
    assert not info.value.needs_architecture
    assert guess.labels == [f"class {i}" for i in range(10)] and len(guess.mean) == 3
    weights = tmp_path / "nocard.safetensors"
    weights.write_bytes(demo_files["safetensors"].read_bytes())
    with pytest.raises(ModelCardMissing) as info:
        load_model(weights, "cpu")
    assert info.value.needs_architecture and len(info.value.suggestion.labels) == 10
    card = info.value.suggestion
    card.architecture, card.architecture_args = demo_model.card.architecture, demo_model.card.architecture_args
    assert load_model(weights, "cpu", card=card).num_classes == 10


# ------------------------------------------------------------------------------------------ trust
def _malicious_files(folder: Path, marker: Path, demo_files: dict[str, Path]) -> dict[str, Path]:
    payload = {"weights": MarkerPayload(marker)}
    files = {"zip": folder / "evil.pt", "legacy": folder / "evil-legacy.pth", "plain": folder / "evil.pkl",
             "export": folder / "evil.pt2"}
    torch.save(payload, files["zip"])
    torch.save(payload, files["legacy"], _use_new_zipfile_serialization=False)
    files["plain"].write_bytes(pickle.dumps(payload))
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    _rewrite_zip(demo_files["export"], files["export"],
                 lambda name, data: buffer.getvalue() if "sample_inputs" in name else data)
    for path in files.values():
        _write_card(path, {"name": "evil", "labels": ["a", "b"], "mean": [0, 0, 0], "std": [1, 1, 1]})
    return files


def _rewrite_zip(source: Path, target: Path, change, extra: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for name in original.namelist():
            copy.writestr(name, change(name, original.read(name)))
        for name, data in (extra or {}).items():
            copy.writestr(name, data)


@pytest.mark.parametrize("kind", ["zip", "legacy", "plain", "export"])
def test_a_malicious_pickle_never_runs_through_the_engine(kind, demo_files, tmp_path):
    marker = tmp_path / "marker"
    path = _malicious_files(tmp_path, marker, demo_files)[kind]
    with pytest.raises(UntrustedModelError) as info:
        load_model(path, "cpu")
    message = str(info.value)
    assert path.name in message and "can run" in message and "--trust-pickle" in message and "\n" not in message
    config = RunConfig(model=str(path), image="sample:star", resolution=16)
    with pytest.raises(UntrustedModelError):
        prepare_job(config)
    assert not marker.exists()


def test_trusting_a_file_is_the_only_way_in(demo_files, tmp_path):
    marker = tmp_path / "marker"
    path = _malicious_files(tmp_path, marker, demo_files)["zip"]
    with pytest.raises(ModelLoadError, match="holds a dict, not a torch module"):
        load_model(path, "cpu", trust_pickle=True)
    assert marker.exists()  # trusted: its code ran, as the warning said it would


def test_export_archives_are_checked_before_loading(demo_files, tmp_path):
    assert export_archive_risk(demo_files["export"]) is None
    root = zipfile.ZipFile(demo_files["export"]).namelist()[0].split("/")[0]
    opaque = tmp_path / "opaque.pt2"
    _rewrite_zip(demo_files["export"], opaque, lambda n, d: d, {f"{root}/data/constants/opaque_obj_0": b"x"})
    assert "opaque_obj_0" in export_archive_risk(opaque)
    evil_target = tmp_path / "target.pt2"
    _rewrite_zip(demo_files["export"], evil_target,
                 lambda n, d: d.replace(b'"torch.ops.aten.relu_.default"', b'"builtins.eval"')
                 if n.endswith(".json") and "/models/" in n else d)
    assert export_archive_risk(evil_target).startswith("it calls builtins.eval")
    _write_card(evil_target, {"name": "x", "labels": ["a"], "mean": [0, 0, 0], "std": [1, 1, 1]})
    with pytest.raises(UntrustedModelError, match="torch.export archive that can run code"):
        load_model(evil_target, "cpu")


# ------------------------------------------------------------------------------------------ bad models
class FeatureMap(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0


class TwoOutputs(nn.Module):
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x.mean(dim=(2, 3)), x.amax(dim=(2, 3))


class Broken(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("this model is broken on purpose")


class NeedsThirtyTwo(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3 * 32 * 32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


CARD = {"name": "bad", "labels": [f"c{i}" for i in range(10)], "mean": [0, 0, 0], "std": [1, 1, 1]}


def _scripted(module: nn.Module, folder: Path, name: str, **card) -> Path:
    path = folder / name
    torch.jit.save(torch.jit.script(module), str(path))
    _write_card(path, {**CARD, **card})
    return path


def _bad_model(case: str, folder: Path, demo_files: dict[str, Path]) -> Path | str:
    """Build one bad model file (and its card) in `folder`."""
    if case == "missing path":
        return str(folder / "nowhere.pt")
    if case == "folder":
        (folder / "weights.pt").mkdir()
        return folder / "weights.pt"
    if case == "empty file":
        (folder / "empty.pt").write_bytes(b"")
        return folder / "empty.pt"
    if case == "not a model":
        (folder / "notes.pt").write_text("my notes about models")
        return folder / "notes.pt"
    if case == "truncated state dict":
        data = demo_files["state_dict"].read_bytes()
        (folder / "cut.pth").write_bytes(data[: len(data) // 2])
        return folder / "cut.pth"
    if case == "corrupt safetensors":
        data = demo_files["safetensors"].read_bytes()
        (folder / "cut.safetensors").write_bytes(data[: len(data) // 3])
        _write_card(folder / "cut.safetensors", {**CARD, "architecture": "advlens.shapes_cnn"})
        return folder / "cut.safetensors"
    if case == "zip that is not PyTorch":
        with zipfile.ZipFile(folder / "photos.pt", "w") as archive:
            archive.writestr("holiday.txt", "sun")
        return folder / "photos.pt"
    if case == "weights without an architecture":
        path = folder / "bare.pth"
        path.write_bytes(demo_files["state_dict"].read_bytes())
        _write_card(path, CARD)
        return path
    if case == "weights of another network":
        path = folder / "other.pth"
        path.write_bytes(demo_files["state_dict"].read_bytes())
        _write_card(path, {**CARD, "architecture": "advlens.shapes_cnn", "architecture_args": {"widths": [8, 16]}})
        return path
    if case == "unknown architecture":
        path = folder / "mystery.pth"
        path.write_bytes(demo_files["state_dict"].read_bytes())
        _write_card(path, {**CARD, "architecture": "mystery_net"})
        return path
    if case == "output is a feature map":
        return _scripted(FeatureMap(), folder, "features.pt")
    if case == "output is a tuple":
        return _scripted(TwoOutputs(), folder, "tuple.pt")
    if case == "raises on the first forward pass":
        return _scripted(Broken(), folder, "broken.pt")
    if case == "needs a size its card does not give":
        return _scripted(NeedsThirtyTwo(), folder, "fixed.pt")
    if case == "input size cannot be met":
        path = folder / "exported.pt2"
        path.write_bytes(demo_files["export"].read_bytes())
        _write_card(path, {**CARD, "input_size": 48})
        return path
    if case == "labels do not match the outputs":
        path = folder / "three.pt"
        path.write_bytes(demo_files["torchscript"].read_bytes())
        _write_card(path, {**CARD, "labels": ["a", "b", "c"]})
        return path
    if case in ("card with std 0", "card with mismatched mean and std", "card that is not JSON"):
        path = folder / "carded.pt"
        path.write_bytes(demo_files["torchscript"].read_bytes())
        if case == "card that is not JSON":
            path.with_suffix(".json").write_text("{name: oops")
        else:
            std = [0, 1, 1] if case == "card with std 0" else [1, 1]
            _write_card(path, {**CARD, "std": std})
        return path
    if case == "ONNX without onnxruntime":
        (folder / "graph.onnx").write_bytes(b"\x08\x07\x12\x07pytorch")
        _write_card(folder / "graph.onnx", CARD)
        return folder / "graph.onnx"
    raise AssertionError(case)


BAD_MODELS = [
    ("missing path", ModelLoadError, "no model"),
    ("folder", ModelLoadError, "is a folder without a config.json"),
    ("empty file", ModelLoadError, "is empty (0 bytes)"),
    ("not a model", ModelLoadError, "is not a model file AdvLens can read"),
    ("truncated state dict", ModelLoadError, "cut.pth is a corrupt or truncated"),
    ("corrupt safetensors", ModelLoadError, "safetensors"),
    ("zip that is not PyTorch", ModelLoadError, "zip archive but not a PyTorch model"),
    ("weights without an architecture", ModelLoadError, "must name the 'architecture'"),
    ("weights of another network", ModelLoadError, "do not fit architecture advlens.shapes_cnn"),
    ("unknown architecture", ModelLoadError, "unknown architecture 'mystery_net'"),
    ("output is a feature map", ModelOutputError, "one logit vector per image, shape (N, classes); got (1, 3, 64, 64)"),
    ("output is a tuple", ModelOutputError, "one logit vector per image, shape (N, classes); got tuple"),
    ("raises on the first forward pass", ModelOutputError, "fails on a 64x64 test image"),
    ("needs a size its card does not give", ModelOutputError, "set input_size in its model card"),
    ("input size cannot be met", ModelOutputError, "needs 32x32 inputs but its card says input_size 48"),
    ("labels do not match the outputs", ModelOutputError, "returns 10 scores but its card names 3 labels"),
    ("card with std 0", ModelLoadError, "every 'std' value must be above 0"),
    ("card with mismatched mean and std", ModelLoadError, "one number per channel each (got 3 and 2)"),
    ("card that is not JSON", ModelLoadError, "cannot read model card carded.json"),
    ("ONNX without onnxruntime", ModelLoadError, "install onnxruntime"),
]


@pytest.mark.parametrize("case, error, words", BAD_MODELS, ids=[case for case, _, _ in BAD_MODELS])
def test_each_bad_model_gets_its_own_message(case, error, words, demo_files, tmp_path, monkeypatch):
    if case == "ONNX without onnxruntime":
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
    source = _bad_model(case, tmp_path, demo_files)
    with pytest.raises(error) as info:
        load_model(source, "cpu")
    message = str(info.value)
    assert words in message
    assert "\n" not in message and "Traceback" not in message


def test_an_onnx_model_with_a_non_square_input_is_refused(tmp_path, demo_model):
    path = _onnx_export(demo_model.network, torch.rand(1, 3, 24, 40), tmp_path / "wide.onnx", dynamic=False)
    _write_card(path, _card(demo_model))
    with pytest.raises(ModelOutputError, match="needs 40x24 inputs; AdvLens feeds square images"):
        load_model(path, "cpu")


# ------------------------------------------------------------------------------------------ named models
def _tiny(num_classes: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, num_classes))


@pytest.fixture
def fake_torchvision(monkeypatch):
    """A stand-in for torchvision.models: one model, 'tinynet', whose weights download fails (offline)."""
    from advlens.engine.loaders import hubs

    state = {"online": False, "calls": []}
    monkeypatch.setattr(hubs, "hub_reachable", lambda host, timeout=0: state["online"])

    class Weights:
        meta = {"categories": [f"thing {i}" for i in range(7)]}

        def transforms(self):
            return types.SimpleNamespace(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25], crop_size=[40])

    class WeightsEnum:
        DEFAULT = Weights()

    def get_model(name, weights=None, **kwargs):
        state["calls"].append((name, weights))
        if name != "tinynet":
            raise ValueError(f"Unknown model {name}")
        if weights is not None and not state["online"]:
            raise urllib.error.URLError("no route to download.pytorch.org")
        return _tiny(kwargs.get("num_classes", 7))

    models = types.ModuleType("torchvision.models")
    models.get_model = get_model
    models.get_model_weights = lambda name: WeightsEnum
    models.list_models = lambda: ["tinynet"]
    package = types.ModuleType("torchvision")
    package.models = models
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    return state


def test_torchvision_by_name_loads_random_weights_offline_and_says_so(fake_torchvision):
    model = load_model("torchvision:tinynet", "cpu")
    assert model.kind == "torchvision" and model.labels == [f"thing {i}" for i in range(7)]
    assert model.card.mean == [0.5, 0.5, 0.5] and model.card.std == [0.25, 0.25, 0.25] and model.input_size == 40
    assert len(model.notes) == 1 and "RANDOM weights (seed 0" in model.notes[0] and "offline" in model.notes[0]
    assert [weights for _, weights in fake_torchvision["calls"]] == [None]  # offline: no download is tried
    fake_torchvision["online"] = True
    assert load_model("torchvision:tinynet", "cpu").notes == []


def test_random_weights_are_the_same_on_every_load(fake_torchvision):
    first, second = load_model("torchvision:tinynet", "cpu"), load_model("torchvision:tinynet", "cpu")
    x = torch.rand(2, 3, 40, 40)
    with torch.no_grad():
        assert torch.equal(first(x), second(x))
    assert first.card.accepts_any_size  # global pooling: it runs on another size too


def test_a_download_that_fails_online_says_why(fake_torchvision, monkeypatch):
    from advlens.engine.loaders import hubs

    monkeypatch.setattr(hubs, "hub_reachable", lambda host, timeout=0: True)
    model = load_model("torchvision:tinynet", "cpu")
    assert "RANDOM weights" in model.notes[0] and "no route" in model.notes[0]


def test_torchvision_names_that_do_not_exist_or_a_missing_package(fake_torchvision, monkeypatch):
    with pytest.raises(ModelLoadError, match="torchvision has no model 'resnet9000'"):
        load_model("torchvision:resnet9000", "cpu")
    monkeypatch.setitem(sys.modules, "torchvision.models", None)
    with pytest.raises(ModelLoadError, match="torchvision is not installed"):
        load_model("torchvision:tinynet", "cpu")


def test_a_state_dict_for_a_torchvision_architecture(fake_torchvision, tmp_path):
    network = _tiny(7).eval()
    path = tmp_path / "tiny.pth"
    torch.save(network.state_dict(), path)
    _write_card(path, {"name": "tiny", "labels": [f"t{i}" for i in range(7)], "mean": [0, 0, 0], "std": [1, 1, 1],
                       "architecture": "torchvision:tinynet", "architecture_args": {"num_classes": 7}})
    model = load_model(path, "cpu")
    x = torch.rand(2, 3, 20, 20)
    with torch.no_grad():
        assert torch.allclose(model(x), network(x), atol=1e-6)


def test_timm_by_name_uses_its_pretrained_config(monkeypatch):
    def create_model(name, pretrained=False, **kwargs):
        if name != "tinyvit":
            raise RuntimeError(f"Unknown model ({name})")
        if pretrained:
            raise OSError("cannot reach huggingface.co")
        network = _tiny(5)
        network.pretrained_cfg = {"mean": (0.4, 0.4, 0.4), "std": (0.2, 0.2, 0.2), "input_size": (3, 48, 48),
                                  "num_classes": 5}
        return network

    timm = types.ModuleType("timm")
    timm.create_model = create_model
    timm.is_model = lambda name: name in ("tinyvit", "broken")
    timm.list_models = lambda pattern="": ["tinyvit"]
    timm.models = types.SimpleNamespace(get_pretrained_cfg=lambda name: types.SimpleNamespace(
        to_dict=lambda: {"hf_hub_id": "timm/tinyvit.test", "crop_pct": 0.9, "interpolation": "bicubic",
                         "fixed_input_size": True}))
    monkeypatch.setitem(sys.modules, "timm", timm)
    model = load_model("timm:tinyvit", "cpu")
    assert model.kind == "timm" and model.num_classes == 5 and model.input_size == 48
    assert model.card.mean == [0.4, 0.4, 0.4] and "RANDOM weights" in model.notes[0] and "offline" in model.notes[0]
    with pytest.raises(ModelLoadError, match="timm has no model 'nope'"):
        load_model("timm:nope", "cpu")
    with pytest.raises(ModelLoadError, match="timm cannot build 'broken'"):
        load_model("timm:broken", "cpu")


def test_out_of_memory_on_the_first_forward_pass_suggests_a_smaller_input():
    from advlens.engine.model import Model, ModelCard

    class TooBig(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    model = Model(TooBig(), ModelCard(name="big", labels=["a", "b"]))
    with pytest.raises(ModelOutputError, match="out of GPU memory running big on 16x16 images: try a smaller"):
        prepare_job(RunConfig(image="sample:star", resolution=16), model=model, label=0)
