"""The transfer table's models, chosen in the Analysis tab: bundled ones, the Explorer's opened ones and
added files, each model once (by identity, not name), never the model attacked; Run needs one checked."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from advlens.engine.errors import AdvLensError
from advlens.engine.model_names import bundled_models_dir
from advlens.transfer_models import TransferChoice, transfer_candidates

pytestmark = pytest.mark.gui

OPTIONS = {"source": "demo", "count": 2, "folder": "", "resolution": 16, "eps_range": "0:8:4/255",
           "minimal_attack": "fmn", "minimal_norm": "l2"}
READY_MS = 120_000  # a bound for loading a model in a busy engine, never a synchronisation


def test_candidates_are_one_per_model_and_never_the_attacked_one(tmp_path):
    mine = tmp_path / "mine.pt"
    bundled = [("shapes-cnn", "Shapes CNN (demo)"), ("shapes-cnn-quantized", "Quantized"), ("shapes-cnn-r16", "r16")]
    opened = [str(bundled_models_dir() / "shapes-cnn-quantized.safetensors"), "shapes-cnn", str(mine),
              str(tmp_path / "sub" / ".." / "mine.pt")]
    candidates = transfer_candidates("demo", bundled, ["shapes-cnn-r16"], opened, {"transfer/1": str(mine)})
    assert [c.identity for c in candidates] == ["bundled:shapes-cnn-quantized", f"file:{mine.resolve()}"]
    assert [c.label for c in candidates] == ["shapes-cnn-quantized", "mine.pt"]
    assert candidates[1].engine_key == "transfer/1"  # the added file: loaded already, with its answers
    choice = TransferChoice()
    choice.set_checked(candidates[0].identity, False)
    assert choice.checked(candidates) == [candidates[1]]


def _analysis(window):
    window.tabs.setCurrentWidget(window.analysis_panel)
    panel, state = window.analysis_panel, window.analysis_state
    panel.views.setCurrentWidget(panel.transfer_page)
    return panel, state


def _rows(panel) -> list[str]:
    chooser = panel.transfer_models
    return [chooser.list.item(i).text().split(" — ")[0] for i in range(chooser.list.count())]


def test_the_chooser_lists_each_bundled_model_once_and_never_the_attacked_one(qtbot, main_window):
    w = main_window
    panel, state = _analysis(w)
    assert panel.transfer_models.isVisible()
    assert _rows(panel) == ["shapes-cnn-quantized", "shapes-cnn-saturated"]  # no control model, not the demo
    # the demo's own weights opened by path in the Explorer: the same model as 'shapes-cnn', attacked still
    weights = str(bundled_models_dir() / "shapes-cnn.safetensors")
    with qtbot.waitSignal(w.state.modelChanged, timeout=READY_MS):
        w.state.load_model(weights)
    assert w.state.model_key != "shapes-cnn" and weights in w.state.extra_models.values()
    assert _rows(panel) == ["shapes-cnn-quantized", "shapes-cnn-saturated"]
    with qtbot.waitSignal(w.state.modelChanged, timeout=READY_MS):
        w.state.load_model("shapes-cnn-quantized")
    assert _rows(panel) == ["shapes-cnn", "shapes-cnn-saturated"]  # the demo once, by name and by path
    assert len(set(panel.transfer_models.keys())) == 2


def _copy_of_a_bundled_model(tmp_path):
    """A bundled model's weights and card under another name: a file of its own, not a bundled model."""
    path = tmp_path / "mine.safetensors"
    shutil.copy(bundled_models_dir() / "shapes-cnn-r16.safetensors", path)
    card = json.loads((bundled_models_dir() / "shapes-cnn-r16.json").read_text())
    card["name"] = "mine"
    path.with_suffix(".json").write_text(json.dumps(card))
    return str(path)


def test_an_added_file_is_checked_and_the_request_carries_the_checked_models(qtbot, main_window, tmp_path,
                                                                            monkeypatch):
    w = main_window
    panel, state = _analysis(w)
    path = _copy_of_a_bundled_model(tmp_path)
    asked = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kw: asked.append(args) or (path, "")))
    qtbot.mouseClick(panel.transfer_models.add_button, Qt.MouseButton.LeftButton)
    assert asked  # the file dialog was asked
    qtbot.waitUntil(lambda: len(_rows(panel)) == 3, timeout=READY_MS)
    assert _rows(panel)[-1] == "mine.safetensors"
    assert panel.transfer_models.checked_keys()[-1] == f"file:{tmp_path.resolve() / 'mine.safetensors'}"
    assert w.state.model.name == "shapes-cnn"  # the Explorer's model stays
    # the same file again is not a second row
    qtbot.mouseClick(panel.transfer_models.add_button, Qt.MouseButton.LeftButton)
    assert len(_rows(panel)) == 3 and "listed already" in panel.transfer_models.note.text()

    panel.transfer_models.set_checked("bundled:shapes-cnn-quantized", False)
    assert state.request("transfer", OPTIONS).other_models == ["shapes-cnn-saturated", path]
    launched = []
    monkeypatch.setattr(state, "launch", launched.append)
    assert state.start("transfer", OPTIONS)
    job = launched[0]
    assert list(job.other_models) == ["shapes-cnn-saturated", path]
    assert job.loaded_models == {path: "transfer/1"}  # the engine uses the model it loaded with the card

    # the choice stays while the Explorer changes models and back (the session remembers it)
    for name in ("shapes-cnn-quantized", "demo"):
        with qtbot.waitSignal(w.state.modelChanged, timeout=READY_MS):
            w.state.load_model(name)
    assert panel.transfer_models.checked_keys() == ["bundled:shapes-cnn-saturated",
                                                    f"file:{tmp_path.resolve() / 'mine.safetensors'}"]


def test_run_is_disabled_with_no_other_model_checked(qtbot, main_window, monkeypatch):
    w = main_window
    panel, state = _analysis(w)
    button = panel.buttons["transfer"]
    assert button.isEnabled()
    for key in panel.transfer_models.keys():
        panel.transfer_models.set_checked(key, False)
    assert not button.isEnabled() and "Check at least one" in button.toolTip()
    assert "Check at least one" in panel.transfer_models.note.text()
    launched = []
    monkeypatch.setattr(state, "launch", launched.append)
    with pytest.raises(AdvLensError, match="at least one"):
        state.request("transfer", OPTIONS)
    assert not state.start("transfer", OPTIONS) and not launched
    panel.set_busy(True, "sweep")
    panel.set_busy(False)
    assert not button.isEnabled()  # the end of another analysis does not enable it
    panel.transfer_models.set_checked("bundled:shapes-cnn-saturated", True)
    assert button.isEnabled() and not panel.transfer_models.note.text()


def _add_full_pickle(qtbot, w, panel, demo_model, path, monkeypatch) -> None:
    """A whole pickled network with its card, added with "Add a model file…": the trust warning is up."""
    torch.save(demo_model.network, path)
    path.with_suffix(".json").write_text(json.dumps({"name": "full", "labels": list(demo_model.labels),
                                                     "mean": demo_model.card.mean, "std": demo_model.card.std}))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kw: (str(path), "")))
    qtbot.mouseClick(panel.transfer_models.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.trust_dialog is not None, timeout=READY_MS)


def test_a_trusted_pickle_added_for_transfer_runs_in_the_table(qtbot, main_window, demo_model, tmp_path,
                                                              monkeypatch):
    """The trust warning of File ▸ Open model, for an added file: ticked, the file is in the table (the
    Explorer's model stays), and the engine uses the copy it loaded with trust."""
    w = main_window
    panel, state = _analysis(w)
    _add_full_pickle(qtbot, w, panel, demo_model, tmp_path / "full.pt", monkeypatch)
    dialog = w.trust_dialog
    dialog.checkbox.setChecked(True)
    qtbot.mouseClick(dialog.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "full.pt" in _rows(panel), timeout=READY_MS)
    assert w.state.model.name == "shapes-cnn"
    for key in panel.transfer_models.keys()[:-1]:
        panel.transfer_models.set_checked(key, False)
    with qtbot.waitSignal(state.finished, timeout=READY_MS) as finished:
        assert state.start("transfer", OPTIONS)
    assert finished.args[1].models == ["shapes-cnn", "full.pt"]


def test_an_added_file_without_a_card_asks_for_one_as_file_open_model_does(qtbot, main_window, demo_model,
                                                                           tmp_path, monkeypatch):
    """The card dialog answers for the added file (the Explorer's model stays); a plain File ▸ Open model
    of that file afterwards is the Explorer's own again."""
    w = main_window
    panel, state = _analysis(w)
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(demo_model.network), str(path))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args, **kw: (str(path), "")))
    qtbot.mouseClick(panel.transfer_models.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.card_dialog is not None, timeout=READY_MS)
    dialog = w.card_dialog
    dialog.normalisation.setCurrentIndex(2)
    dialog.labels_source.setCurrentText("Custom: one name per line below")
    dialog.labels.setPlainText("\n".join(demo_model.labels))
    assert dialog.ok_button.isEnabled(), dialog.problem.text()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "scripted.pt" in _rows(panel), timeout=READY_MS)
    assert w.state.model.name == "shapes-cnn" and not w.state.library.waiting_side(str(path))
    with qtbot.waitSignal(w.state.modelChanged, timeout=READY_MS):
        w.state.load_model(str(path))  # the card is remembered: the Explorer opens it without asking
    assert w.card_dialog is None and w.state.model.kind == "torchscript"
    assert "scripted.pt" not in _rows(panel)  # the model attacked now


def test_a_refused_added_file_opened_later_in_the_explorer_is_the_explorers(qtbot, main_window, demo_model,
                                                                           tmp_path, monkeypatch):
    """Cancelling the trust warning of an added file leaves nothing waiting: File ▸ Open model of that
    file later asks again, and the answer loads it in the Explorer, not as a transfer model."""
    w = main_window
    panel, _state = _analysis(w)
    _add_full_pickle(qtbot, w, panel, demo_model, tmp_path / "full.pt", monkeypatch)
    qtbot.mouseClick(w.trust_dialog.buttons.button(w.trust_dialog.buttons.StandardButton.Cancel),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.trust_dialog is None)
    assert "full.pt" not in _rows(panel)
    w.open_model_dialog()  # File ▸ Open model, the same (patched) file dialog
    qtbot.waitUntil(lambda: w.trust_dialog is not None, timeout=READY_MS)
    w.trust_dialog.checkbox.setChecked(True)
    with qtbot.waitSignal(w.state.modelChanged, timeout=READY_MS):
        qtbot.mouseClick(w.trust_dialog.load_button, Qt.MouseButton.LeftButton)
    assert w.state.model.name == "full" and "full.pt" not in _rows(panel)
