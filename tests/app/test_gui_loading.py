"""Opening what people have, in the window: the trust warning, the model-card dialog, folders of images."""

from __future__ import annotations

import json
import pickle
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import Qt

pytestmark = pytest.mark.gui




class MarkerPayload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _card_for(path, **fields):
    card = {"name": path.stem, "labels": [f"c{i}" for i in range(10)], "mean": [0.5] * 3, "std": [0.5] * 3}
    card.update(fields)
    path.with_suffix(".json").write_text(json.dumps(card))


def test_a_malicious_pickle_is_refused_in_the_window(qtbot, main_window, tmp_path):
    w = main_window
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"weights": MarkerPayload(marker)}))
    _card_for(evil)
    w.state.load_model(str(evil))  # the engine refuses it and says why; the window asks
    qtbot.waitUntil(lambda: w.trust_dialog is not None, timeout=60_000)
    dialog = w.trust_dialog
    assert dialog is not None and dialog.isVisible()
    assert "can run any code" in dialog.reason.text()
    assert not dialog.checkbox.isChecked() and not dialog.load_button.isEnabled()
    qtbot.mouseClick(dialog.load_button, Qt.MouseButton.LeftButton)  # disabled: nothing happens
    assert not marker.exists()
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.trust_dialog is None)
    assert not marker.exists()
    assert w.state.model.name == "shapes-cnn"  # the previous model stays


def test_ticking_i_trust_this_file_loads_a_full_pickle(qtbot, main_window, demo_model, tmp_path):
    w = main_window
    path = tmp_path / "full.pt"
    torch.save(demo_model.network, path)
    _card_for(path, labels=list(demo_model.labels), mean=demo_model.card.mean, std=demo_model.card.std)
    w.state.load_model(str(path))
    qtbot.waitUntil(lambda: w.trust_dialog is not None, timeout=60_000)
    dialog = w.trust_dialog
    dialog.checkbox.setChecked(True)
    assert dialog.load_button.isEnabled()
    with qtbot.waitSignal(w.state.modelChanged, timeout=120_000):
        qtbot.mouseClick(dialog.load_button, Qt.MouseButton.LeftButton)
    assert w.state.model.kind == "pickle" and w.state.model.name == "full"
    assert "full" in w.windowTitle()


def test_a_model_without_a_card_asks_once_and_is_remembered(qtbot, main_window, demo_model, tmp_path):
    w = main_window
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(demo_model.network), str(path))
    w.state.load_model(str(path))
    qtbot.waitUntil(lambda: w.card_dialog is not None, timeout=60_000)
    dialog = w.card_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.name.text() == "scripted" and len(dialog.label_list()) == 10  # read off the model
    dialog.std.setText("0, 1, 1")
    assert not dialog.ok_button.isEnabled() and "above 0" in dialog.problem.text()
    dialog.normalisation.setCurrentIndex(2)  # the [-1, 1] preset: mean 0.5, std 0.5
    dialog.labels_source.setCurrentText("Custom: one name per line below")
    dialog.labels.setPlainText("\n".join(demo_model.labels))
    dialog.name.setText("my shapes")
    assert dialog.ok_button.isEnabled(), dialog.problem.text()
    with qtbot.waitSignal(w.state.modelChanged, timeout=120_000):  # the engine loads it (its probe in a child)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    model = w.state.model
    assert model.name == "my shapes" and model.labels == demo_model.labels
    assert model.mean == [0.5, 0.5, 0.5] and model.kind == "torchscript"

    with qtbot.waitSignal(w.state.modelChanged, timeout=60_000):
        w.state.load_model("demo")
    with qtbot.waitSignal(w.state.modelChanged, timeout=60_000):
        assert w.state.load_model(str(path))  # remembered: no second question
    assert w.card_dialog is None and w.state.model.name == "my shapes"


def _onnx_model(demo_model, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    path = tmp_path / "demo.onnx"
    try:
        torch.onnx.export(demo_model.network, (torch.rand(1, 3, 32, 32),), str(path), dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}})
    except Exception as exc:  # the exporter is optional machinery
        pytest.skip(f"torch.onnx.export could not build the test model offline: {exc}")
    _card_for(path, labels=list(demo_model.labels))
    return path


def test_an_onnx_model_offers_the_attacks_it_can_run_and_says_why(qtbot, main_window, demo_model, tmp_path):
    w = main_window
    path = _onnx_model(demo_model, tmp_path)
    with qtbot.waitSignal(w.state.notice, timeout=120_000) as notice:
        assert w.state.load_model(str(path))
    if w.state.model.gradients_available:  # converted by onnx2torch: every attack is offered
        assert "converted to PyTorch with onnx2torch" in notice.args[1]
        offered = [w.controls.attack.itemData(i) for i in range(w.controls.attack.count())]
        assert "pgd" in offered and "square" in offered


def test_an_onnx_model_without_onnx2torch_offers_only_black_box_attacks(qtbot, demo_model, tmp_path, monkeypatch,
                                                                         request):
    """As without onnx2torch: onnxruntime runs it, with no gradients. The engine process is spawned with
    this process's import path, where a stand-in onnx2torch comes first and cannot be imported."""
    path = _onnx_model(demo_model, tmp_path)
    stand_in = tmp_path / "no-onnx2torch" / "onnx2torch"
    stand_in.mkdir(parents=True)
    (stand_in / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'onnx2torch'\", "
                                          "name='onnx2torch')\n")
    monkeypatch.syspath_prepend(str(stand_in.parent))
    w = request.getfixturevalue("own_window")
    with qtbot.waitSignal(w.state.notice, timeout=120_000) as notice:
        assert w.state.load_model(str(path))
    assert "no gradients" in notice.args[1] and "onnx2torch is not installed" in notice.args[1]
    assert not w.state.model.gradients_available
    offered = [w.controls.attack.itemData(i) for i in range(w.controls.attack.count())]
    assert offered == ["square"]  # the picker offers only what can run without gradients
    w.state.set_settings({"attack": "pgd", "norm": "linf", "steps": 2, "resolution": 32})
    with qtbot.waitSignal(w.state.error) as error:
        assert not w.state.start()
    assert "needs the model's gradients" in error.args[1] and "ONNX" in error.args[1]


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def test_a_bad_image_keeps_the_previous_one(qtbot, main_window, tmp_path):
    w = main_window
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)  # claims 100000 x 100000 pixels
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))
    before = w.state.image_key
    with qtbot.waitSignal(w.state.error, timeout=60_000) as error:
        w.state.load_image(str(bomb))
    assert "too large" in error.args[1] and w.state.image_key == before


def _write_pngs(folder, count: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(folder / f"img{i:05d}.png")


def test_a_folder_of_thousands_opens_at_once_and_decodes_only_what_is_seen(qtbot, main_window, tmp_path):
    w = main_window
    folder = tmp_path / "many"
    folder.mkdir()
    (folder / "00-broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    _write_pngs(folder, 2000)
    (folder / "readme.txt").write_text("not an image")
    gallery, model = w.folder_gallery, w.folder_gallery.list_model

    assert w.open_folder(folder)
    assert model.rowCount() == 2001 and w.folder_dock.isVisible()
    assert model.loaded_count == 0  # nothing was decoded on the GUI thread while opening
    qtbot.waitUntil(lambda: model.loaded_count > 0 and model.failed_count == 1, timeout=60_000)
    assert model.asked_count < 2001  # only the thumbnails in view were asked for
    assert "00-broken.png: corrupt or truncated" in model.data(model.index(0), Qt.ItemDataRole.ToolTipRole)

    gallery.scrollToBottom()
    qtbot.waitUntil(lambda: model.has_thumbnail(2000), timeout=60_000)
    assert model.loaded_count < 2000  # rows scrolled past were never decoded
    last = model.index(2000)
    with qtbot.waitSignal(w.state.imageChanged, timeout=60_000):
        qtbot.mouseClick(gallery.viewport(), Qt.MouseButton.LeftButton, pos=gallery.visualRect(last).center())
    assert w.state.image_key == str(folder / "img01999.png")


def test_opening_a_folder_without_images_says_so(qtbot, main_window, tmp_path):
    w = main_window
    (tmp_path / "notes.txt").write_text("x")
    with qtbot.waitSignal(w.state.error) as error:
        assert not w.open_folder(tmp_path)
    assert "holds no image files" in error.args[1]
    with qtbot.waitSignal(w.state.error) as error:
        assert not w.open_folder(tmp_path / "missing")
    assert "no such folder" in error.args[1]
