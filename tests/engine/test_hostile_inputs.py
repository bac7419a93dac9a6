"""Crafted cards, labels files and special files: one line each, at once, and nothing read from elsewhere."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

from advlens.engine.errors import ImageLoadError, ModelLoadError, ModelOutputError
from advlens.engine.images import load_image
from advlens.engine.loaders import card_from_dict, load_model, read_card
from advlens.engine.model import Model, ModelCard


@pytest.fixture()
def weights(tmp_path, demo_model) -> Path:
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in demo_model.network.state_dict().items()}, str(path))
    return path


def _card(weights: Path, **fields) -> Path:
    card = {"name": "m", "architecture": "advlens.shapes_cnn", **fields}
    path = weights.with_suffix(".json")
    path.write_text(json.dumps(card))
    return path


@pytest.mark.parametrize("labels", ["../../../etc/passwd", "/etc/passwd", "/dev/zero", "sub/../../outside.txt"])
def test_a_labels_file_outside_the_cards_folder_is_refused(weights, labels, tmp_path):
    (tmp_path.parent / "outside.txt").write_text("secret\n")
    _card(weights, labels=labels)
    with pytest.raises(ModelLoadError, match="inside the card's folder") as caught:
        load_model(weights, "cpu")
    assert "root:" not in str(caught.value) and "\n" not in str(caught.value)


def test_a_labels_link_out_of_the_folder_and_special_labels_files_are_refused(weights, tmp_path):
    (tmp_path / "link.txt").symlink_to("/etc/passwd")
    _card(weights, labels="link.txt")
    with pytest.raises(ModelLoadError, match="inside the card's folder"):
        load_model(weights, "cpu")
    os.mkfifo(tmp_path / "fifo.txt")
    _card(weights, labels="fifo.txt")
    with pytest.raises(ModelLoadError, match="named pipe"):
        load_model(weights, "cpu")  # returns at once: a FIFO is never opened
    (tmp_path / "big.txt").write_bytes(b"label\n" * (1 << 20))
    _card(weights, labels="big.txt")
    with pytest.raises(ModelLoadError, match="MB"):
        load_model(weights, "cpu")


def test_a_labels_file_inside_the_folder_still_works(weights, demo_model, tmp_path):
    (tmp_path / "names.txt").write_text("\n".join(demo_model.labels) + "\n")
    _card(weights, labels="names.txt")
    assert load_model(weights, "cpu").labels == list(demo_model.labels)


@pytest.mark.parametrize(("fields", "words"), [
    ({"labels": None, "num_classes": -1}, "num_classes"), ({"labels": None, "num_classes": 10**12}, "num_classes"),
    ({"std": [1e-300, 1, 1]}, "'std' value must be a finite number"), ({"mean": [float("nan"), 0, 0]}, "'mean'"),
    ({"mean": [float("inf"), 0, 0]}, "'mean'"), ({"mean": [0] * 5, "std": [1] * 5}, "1 \\(grey\\) or 3"),
    ({"train_sizes": "all"}, "train_sizes"), ({"name": 7}, "'name'"), ({"clean_accuracy": {"32": "high"}}, "accuracy"),
])
def test_a_card_with_a_field_out_of_range_is_one_line(weights, demo_model, fields, words):
    card = {"labels": list(demo_model.labels), **fields}
    if card["labels"] is None:
        del card["labels"]
    path = weights.with_suffix(".json")
    path.write_text(json.dumps({"name": "m", "architecture": "advlens.shapes_cnn", **card}))
    with pytest.raises(ModelLoadError, match=words) as caught:
        load_model(weights, "cpu")
    assert "\n" not in str(caught.value)


_VALUES = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12),
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                       max_leaves=10)
_FIELDS = ["name", "labels", "mean", "std", "input_size", "num_classes", "architecture", "architecture_args",
           "clean_accuracy", "receptive_field_px", "train_sizes", "title", "extra"]


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.dictionaries(st.sampled_from(_FIELDS), _VALUES, max_size=6))
def test_fuzzed_cards_are_a_card_or_one_model_load_error(tmp_path, data):
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps({"name": "m", "labels": ["a", "b"], **data}))
    try:
        card = read_card(path)
    except ModelLoadError as exc:
        assert "\n" not in str(exc)
    else:
        assert card.labels and all(isinstance(x, str) for x in card.labels)
        assert all(1e-3 <= s <= 1e3 for s in card.std) and len(card.mean) == len(card.std)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(text=st.binary(max_size=300))
def test_fuzzed_card_bytes_are_a_card_or_one_model_load_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("bytes") / "fuzz.toml"
    path.write_bytes(text)
    try:
        read_card(path)
    except ModelLoadError as exc:
        assert "\n" not in str(exc)


def test_a_labels_file_needs_a_card_file():
    with pytest.raises(ModelLoadError, match="only a card file"):
        card_from_dict({"name": "m", "labels": "names.txt"}, where="the card you entered")


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


@pytest.mark.parametrize("kind", ["fifo", "socket", "device", "folder"])
def test_special_files_as_image_or_model_get_one_line_at_once(tmp_path, kind):
    """Nothing opens a FIFO (that would block for ever): the type is checked first, by stat."""
    for name, load, error in (("x.png", load_image, ImageLoadError),
                              ("x.pt", lambda p: load_model(p, "cpu"), ModelLoadError)):
        path = tmp_path / name
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            _socket(path)
        elif kind == "device":
            path = Path("/dev/zero")
        else:
            path.mkdir()
        outcome: list[BaseException | None] = []
        worker = threading.Thread(target=lambda p=path, f=load, o=outcome: o.append(_raised(f, p)), daemon=True)
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), f"loading a {kind} blocked"
        assert isinstance(outcome[0], error) and "\n" not in str(outcome[0])
        words = {"fifo": "named pipe", "socket": "socket", "device": "device", "folder": "folder"}[kind]
        assert words in str(outcome[0])
        if kind == "folder":
            path.rmdir()


def _raised(function, path) -> BaseException | None:
    try:
        function(path)
    except BaseException as exc:  # the test inspects what was raised
        return exc
    return None


def test_a_model_returning_integer_logits_is_one_line():
    class IntegerLogits(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x.mean(dim=(2, 3))[:, :2] * 10).long()

    model = Model(IntegerLogits(), ModelCard(name="ints", labels=["a", "b"]))
    with pytest.raises(ModelOutputError, match="floating-point"):
        model.checked_logits(torch.rand(1, 3, 8, 8))
