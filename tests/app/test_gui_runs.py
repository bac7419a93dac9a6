"""Saved runs in the Explorer: open one, replay it live, compare two, export the report (offscreen)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from advlens.engine import AttackConfig, RunConfig, run_attack

pytestmark = pytest.mark.gui


@pytest.fixture
def saved_runs(demo_model, tmp_path):
    """Two records in the window's runs folder (the main_window fixture points ADVLENS_RUNS_DIR there)."""
    paths = []
    for name, eps, steps in (("20250101-a", 6 / 255, 4), ("20250102-b", 2 / 255, 3)):
        config = RunConfig(image="sample:triangle", resolution=32, device="cpu",
                           attack=AttackConfig(attack="pgd", norm="linf", eps=eps, steps=steps, seed=7))
        paths.append(run_attack(config, model=demo_model).save(tmp_path / "runs" / name))
    return paths


def _edited_copy(folder, to, **config):
    """A copy of a record whose config says something else (a model or image that cannot be read)."""
    shutil.copytree(folder, to)
    data = json.loads((to / "record.json").read_text())
    data["config"].update(config)
    (to / "record.json").write_text(json.dumps(data))
    return to


def test_opening_a_saved_run_shows_its_config_and_its_images(main_window, saved_runs, tmp_path):
    from advlens.engine import RunRecord

    w = main_window
    before = w.adversarial_pane.current
    assert not w.runs.open_run(tmp_path)  # not a record: one message, nothing changes
    assert "not a readable run record" in w.statusBar().currentMessage()
    assert w._error_box is not None and "record.json" in w._error_box.text()
    assert w.adversarial_pane.current is before

    path = saved_runs[0]
    record = RunRecord.load(path)
    assert w.runs.open_run(path)
    assert w.controls.eps.value() == pytest.approx(6.0)
    assert w.controls.steps.value() == 4 and w.controls.seed.value() == 7
    assert w.controls.resolution.currentText() == "32"
    assert w.state.config.attack == record.config.attack  # exactly, not as the spin box rounds it
    assert w.state.image_key == "sample:triangle"
    np.testing.assert_array_equal(w.adversarial_pane.current, record.adversarial[0].transpose(1, 2, 0))
    np.testing.assert_array_equal(w.original_pane.current, record.original[0].transpose(1, 2, 0))
    assert w.plots.point_counts()["loss"] == 5
    assert w.banner.text().startswith("Loaded run of ")
    assert record.class_names[record.adv_pred[0]] in w.banner.text()

    out = tmp_path / "report.html"  # File > Export report writes the opened run's report
    assert w.runs.export_report(out)
    text = out.read_text()
    assert text.count("data:image/png;base64,") == 3 and "attack.eps" in text

    gone = _edited_copy(path, tmp_path / "gone-model", model="/no/such/model.safetensors")
    assert w.runs.open_run(gone)  # its images and curves are still worth seeing
    assert "Shown from the record only" in w.banner.text()
    assert "model" in w._error_box.text()
    np.testing.assert_array_equal(w.adversarial_pane.current, record.adversarial[0].transpose(1, 2, 0))
    assert not w.runs.replay()
    assert w._error_box.windowTitle() == "Cannot replay this run"


def test_replay_reruns_live_and_says_it_matched(qtbot, main_window, saved_runs, tmp_path):
    w = main_window
    w.runs.open_run(saved_runs[0])
    w.controls.eps.setValue(1.0)  # the person fiddles; Replay still runs the record's settings
    with qtbot.waitSignal(w.runs.replayFinished, timeout=60_000) as blocker:
        w.replay_action.trigger()
    result = blocker.args[0]
    assert result is not None and result.identical, result.differences
    assert "Replay matches the record" in w.banner.text()
    assert "matches" in w.statusBar().currentMessage()

    pasted = _edited_copy(saved_runs[1], tmp_path / "pasted", image="pasted image")
    assert w.runs.open_run(pasted)  # the image cannot be read again: the record's stored input stands in
    assert "input stored in the record" in w.banner.text()
    assert w.state.image_key == "pasted image"
    with qtbot.waitSignal(w.runs.replayFinished, timeout=60_000) as blocker:
        w.replay_action.trigger()
    assert blocker.args[0].identical, blocker.args[0].differences


def test_compare_dialog_shows_both_runs(qtbot, main_window, saved_runs):
    from advlens.engine import RunRecord

    w = main_window
    a, b = saved_runs
    dialog = w.runs.compare_dialog()  # File > Compare runs: the runs folder's records, newest as A
    assert dialog is not None
    qtbot.waitExposed(dialog, timeout=30_000)
    assert {dialog.choosers[0].itemData(i) for i in range(dialog.choosers[0].count())} == {str(a), str(b)}
    assert dialog.chosen() == (str(b), str(a))
    dialog = w.runs.compare(a, b)
    for panes, path in zip(dialog.panes, (a, b), strict=True):
        np.testing.assert_array_equal(panes["adversarial"].current,
                                      RunRecord.load(path).adversarial[0].transpose(1, 2, 0))
    rows = dialog.rows()
    eps_row = next(r for r in rows if r[0] == "attack.eps")
    assert "6/255" in eps_row[1] and "2/255" in eps_row[2]
    assert any(r[0] == "attack.steps" for r in rows)
    counts = dialog.point_counts()
    assert counts[0]["loss"] == 5 and counts[1]["loss"] == 4
    curves_before = [id(c) for c in dialog.curves[0].values()]
    dialog.choosers[1].setCurrentIndex(dialog.choosers[1].findData(str(a)))  # choose A against itself
    assert [r for r in dialog.rows() if r[0] == "(none)"]
    assert [id(c) for c in dialog.curves[0].values()] == curves_before  # items made once, updated in place


def test_opening_a_run_does_not_load_its_model_until_replay(qtbot, main_window, saved_runs, tmp_path, monkeypatch,
                                                             demo_model):
    """A shared record names a model file: opening the record to look at it must not open that file."""
    import torch

    w = main_window
    model_file = tmp_path / "theirs.pt"
    torch.jit.save(torch.jit.script(demo_model.network), str(model_file))
    model_file.with_suffix(".json").write_text(json.dumps({"name": "theirs", "labels": list(w.state.model.labels)}))
    shared = _edited_copy(saved_runs[0], tmp_path / "shared", model=str(model_file))
    loads = []
    real_load = w.state.load_model
    monkeypatch.setattr(w.state, "load_model", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    assert w.runs.open_run(shared)
    assert loads == [] and "loaded when you press Replay" in w.banner.text()
    with qtbot.waitSignal(w.runs.replayFinished, timeout=120_000):
        assert w.runs.replay()
    assert loads and loads[0][0] == str(model_file)
