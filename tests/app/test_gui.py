"""The Explorer window, driven as a person would, offscreen (set by conftest before Qt loads)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from advlens.engine.record import RunRecord
from tests.app.conftest import wait_until_ready
from tests.engine.engine_models import FAIL_SIZE, FailAtSize, HoldNet, save_trusted

pytestmark = pytest.mark.gui

WAIT = 60  # seconds: a bound for a stuck test, never a synchronisation


def _gone(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _configure(window, **values):
    window.controls.set_config(values)


def _load_trusted(qtbot, window, network, path):
    """A trusted test model (its network misbehaves on purpose), loaded in the engine as a person would."""
    demo = window.state.model
    save_trusted(network, path, demo.labels, demo.mean, demo.std)
    with qtbot.waitSignal(window.state.modelChanged, timeout=120_000):
        window.state.load_model(str(path), trust_pickle=True)
    wait_until_ready(qtbot, window)


def _run_to_end(qtbot, window, timeout=120_000):
    with qtbot.waitSignal(window.state.runEnded, timeout=timeout) as blocker:
        window.run_action.trigger()
    return blocker.args[0]


def test_window_opens_on_the_demo_ready_to_run(main_window):
    w = main_window
    assert "Shapes CNN" in w.windowTitle() and "sample:star" in w.windowTitle()
    assert w.state.device_label in w.device_label.text()
    assert w.original_pane.current is not None
    assert w.original_pane.caption.text().startswith("star")
    assert w.run_action.isEnabled() and not w.stop_action.isEnabled()
    for widget in (w.controls.eps, w.controls.steps, w.controls.attack, w.controls.norm, w.controls.resolution,
                   w.controls.seed, w.controls.target, w.controls.random_start, w.controls.device):
        assert widget.toolTip(), f"{widget} has no tooltip"


def test_controls_drive_the_run_configuration(qtbot, main_window):
    w = main_window
    w.controls.eps.setValue(4.0)
    assert w.state.config.attack.eps == pytest.approx(4 / 255)
    w.controls.steps.setValue(13)
    assert w.state.config.attack.steps == 13
    w.controls.resolution.setCurrentText("32")
    assert w.state.config.resolution == 32
    qtbot.waitUntil(lambda: w.original_pane.current.shape == (32, 32, 3), timeout=60_000)  # the engine renders it
    w.controls.norm.setCurrentIndex(w.controls.norm.findData("l2"))
    assert w.state.config.attack.norm == "l2"
    assert w.state.config.attack.eps == pytest.approx(1.0)


def test_a_pgd_run_fills_plots_and_shows_the_engines_adversarial(qtbot, main_window):
    w = main_window
    _configure(w, attack="pgd", norm="linf", eps=8 / 255, steps=12, resolution=32, seed=0)
    event = _run_to_end(qtbot, w)
    assert event.kind == "finished"
    record = event.record
    assert w.plots.point_counts()["loss"] == 13  # the start point and one per step
    # the norms are taken on the steps that had a frame (at most 60 a second), the first and the last among them
    framed = np.isfinite(record.metrics["l2"][:, 0])
    assert framed[0] and framed[-1] and w.plots.point_counts()["l2"] == int(framed.sum())
    np.testing.assert_array_equal(w.adversarial_pane.current, record.adversarial[0].transpose(1, 2, 0))
    assert record.success[0] and record.adv_pred[0] != record.clean_pred[0]
    adv_name = record.class_names[record.adv_pred[0]]
    assert w.adversarial_pane.caption.text().startswith(adv_name)
    assert "SUCCESS" in w.banner.text()
    assert w.bars.labels[0] == adv_name
    saved = RunRecord.load(w.state.last_record_path)
    assert saved.same_as(record)


def test_a_run_that_ended_between_ticks_is_still_recorded_when_the_next_run_starts(qtbot, main_window):
    w = main_window
    _configure(w, attack="fgsm", eps=8 / 255, resolution=32, seed=0)
    ended = []
    w.state.runEnded.connect(ended.append)
    assert w.state.start()
    first = w.state.handle
    w.state.link.client.wait_until(first.done, 60)  # the engine finished; no Qt event has run, so the state has not seen it
    assert w.state.run_state == "running" and not ended
    assert w.state.start()  # Run pressed again at once
    assert [e.kind for e in ended] == ["finished"] and ended[0].record is not None
    assert RunRecord.load(w.state.last_record_path).same_as(ended[0].record)
    with qtbot.waitSignal(w.state.runEnded, timeout=60_000):
        pass


def test_pause_and_step_advance_exactly_one_step(qtbot, main_window):
    w = main_window
    _configure(w, steps=50, resolution=32)
    w.step_action.trigger()  # from idle: starts paused and runs one step
    handle = w.state.handle
    qtbot.waitUntil(lambda: handle.telemetry is not None, timeout=30_000)
    telemetry = handle.telemetry
    # the idle frame has step 0 too: wait for the run's own frame (it has an adversarial image)
    qtbot.waitUntil(lambda: w.state.last_frame.adversarial is not None and w.state.last_frame.step == 0,
                    timeout=30_000)
    w.step_action.trigger()
    qtbot.waitUntil(lambda: w.state.last_frame.step == 1, timeout=30_000)
    w.step_action.trigger()
    qtbot.waitUntil(lambda: w.state.last_frame.step == 2, timeout=30_000)
    assert w.state.run_state == "paused"
    assert w.plots.point_counts()["loss"] == 3
    with qtbot.waitSignal(w.state.runEnded, timeout=30_000) as blocker:
        w.stop_action.trigger()
    assert blocker.args[0].kind == "cancelled"
    assert telemetry.steps_seen == 3  # nothing ran while paused


def test_stop_mid_run_ends_within_one_step_and_the_window_stays_usable(qtbot, main_window, demo_model, tmp_path):
    w = main_window
    _load_trusted(qtbot, w, HoldNet(demo_model.network, str(tmp_path)), tmp_path / "hold.pt")
    _configure(w, steps=100_000, resolution=24)
    w.run_action.trigger()
    handle = w.state.handle
    qtbot.waitUntil(lambda: handle.telemetry is not None and handle.telemetry.shared.steps_pushed >= 3,
                    timeout=30_000)
    assert w.pause_action.isEnabled() and not w.controls.isEnabled()
    # Stop while the engine is inside a step: counting the steps and then pressing Stop would let
    # steps slip in between on a loaded machine
    (tmp_path / "arm").write_text("1")
    qtbot.waitUntil(lambda: (tmp_path / "holding").exists(), timeout=WAIT * 1000)
    pushed_at_stop = handle.telemetry.shared.steps_pushed  # steps pushed so far (updated on every step)
    with qtbot.waitSignal(w.state.runEnded, timeout=WAIT * 1000) as blocker:
        w.stop_action.trigger()
        qtbot.waitUntil(lambda: "cancel" in handle.acknowledged, timeout=WAIT * 1000)  # the engine has the Stop
        (tmp_path / "release").write_text("1")
    record = blocker.args[0].record
    assert blocker.args[0].kind == "cancelled"
    assert record.metrics["loss"].shape[0] == pushed_at_stop + 1  # the step under way, and no other
    assert "Stopped at step" in w.banner.text()
    assert w.controls.isEnabled() and w.run_action.isEnabled()
    assert w.state.load_image("sample:ring")  # still responsive
    qtbot.waitUntil(lambda: "ring" in w.original_pane.caption.text(), timeout=30_000)  # its clean prediction and truth


def _drop(window, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(QPoint(300, 300)), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_an_image_file_loads_it(qtbot, main_window, tmp_path):
    path = tmp_path / "photo.png"
    Image.new("RGB", (80, 50), (200, 30, 30)).save(path)
    with qtbot.waitSignal(main_window.state.imageChanged, timeout=30_000):
        _drop(main_window, path)
    assert main_window.state.image_key == str(path.resolve())
    assert main_window.original_pane.current.shape == (64, 64, 3)
    assert np.allclose(main_window.original_pane.current[0, 0], np.array([200, 30, 30]) / 255, atol=1e-3)
    assert "photo.png" in main_window.windowTitle()


def test_dropping_a_corrupt_file_shows_an_error_and_keeps_the_old_image(qtbot, main_window, tmp_path):
    before = main_window.original_pane.current.copy()
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    with qtbot.waitSignal(main_window.state.error, timeout=30_000):
        _drop(main_window, bad)
    assert main_window.state.image_key == "sample:star"
    np.testing.assert_array_equal(main_window.original_pane.current, before)
    assert "Cannot open image" in main_window.statusBar().currentMessage()
    assert "broken.jpg" in main_window.state.last_error
    assert main_window._error_box is not None and main_window._error_box.isVisible()


def test_targeted_run_names_the_target_in_the_bars(qtbot, main_window):
    w = main_window
    _configure(w, steps=30, eps=16 / 255, resolution=32, target=8)
    event = _run_to_end(qtbot, w)
    assert event.record.config.attack.target == 8
    assert event.record.adv_pred[0] == 8
    assert w.bars.labels[0] == "heart"
    assert np.isfinite(w.state.last_frame.series["target_prob"]).all()


def test_a_run_that_fails_reports_it_and_leaves_the_window_usable(qtbot, main_window, demo_model, tmp_path):
    w = main_window
    _load_trusted(qtbot, w, FailAtSize(demo_model.network), tmp_path / "flaky.pt")  # raises like CUDA out of memory
    _configure(w, steps=20, resolution=FAIL_SIZE)
    event = _run_to_end(qtbot, w)
    assert event.kind == "failed"
    assert "out of memory" in event.message
    assert "Attack stopped" in w.banner.text()
    assert w.controls.isEnabled() and w.run_action.isEnabled()


def test_closing_the_window_while_running_stops_the_engine_and_waits_for_it(qtbot, own_window):
    w = own_window
    _configure(w, steps=100_000, resolution=24)
    w.run_action.trigger()
    handle = w.state.handle
    qtbot.waitUntil(lambda: handle.telemetry is not None and handle.telemetry.shared.steps_pushed >= 2,
                    timeout=30_000)
    pid = w.state.link.client.pid
    w.close()
    assert handle.done()
    assert not w.state.link.client.alive and _gone(pid)  # joined: no orphan


def test_export_writes_pngs_and_csv(qtbot, main_window, tmp_path):
    w = main_window
    _configure(w, steps=4, resolution=24)
    _run_to_end(qtbot, w)
    written = w.export_images(tmp_path / "export")
    assert {p.name for p in written} == {"original.png", "adversarial.png", "perturbation.png",
                                         "perturbation-map.png", "difference.png"}
    assert Image.open(tmp_path / "export" / "adversarial.png").size == (24, 24)
    lines = w.metrics_csv().strip().splitlines()
    assert lines[0].startswith("step,loss") and len(lines) == 6


def test_screenshot_command_writes_a_png_of_the_window(tmp_path):
    out = tmp_path / "shot.png"
    env = {"QT_QPA_PLATFORM": "offscreen", "ADVLENS_RUNS_DIR": str(tmp_path / "runs"),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "advlens", "gui", "--demo", "--run", "--screenshot", str(out)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    from advlens.gui import SCREENSHOT_SIZE

    with Image.open(out) as image:
        assert image.size == SCREENSHOT_SIZE
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 100  # a real picture, not a blank window


def test_every_engine_attack_is_offered_with_its_settings(main_window):
    from advlens.engine import attack_names

    w = main_window
    offered = [w.controls.attack.itemData(i) for i in range(w.controls.attack.count())]
    assert offered == attack_names()
    w.controls.attack.setCurrentIndex(offered.index("deepfool"))
    assert not w.controls.eps.isEnabled() and not w.controls.targeted.isEnabled()
    assert set(w.controls.param_widgets) == {"overshoot", "candidates"}
    w.controls.param_widgets["overshoot"].setValue(0.05)
    assert w.state.config.attack.params["overshoot"] == pytest.approx(0.05)
    w.controls.attack.setCurrentIndex(offered.index("pgd"))
    assert w.controls.eps.isEnabled() and "deepfool" not in str(w.state.config.attack.params)


def test_a_minimal_norm_run_reports_the_norm_it_found(qtbot, main_window):
    w = main_window
    _configure(w, attack="fmn", norm="l2", steps=30, resolution=32)
    event = _run_to_end(qtbot, w)
    assert event.kind == "finished" and event.record.success[0]
    assert "minimal L2" in w.banner.text()
    assert w.plots.point_counts()["loss"] == 30


def test_the_analysis_tab_plots_a_robust_accuracy_curve_live(qtbot, main_window):
    w = main_window
    w.tabs.setCurrentIndex(1)
    panel = w.analysis_panel
    panel.count.setValue(6)
    panel.eps_range.setText("0:8:4/255")
    _configure(w, attack="pgd", norm="linf", steps=5)
    with qtbot.waitSignal(w.analysis_state.finished, timeout=120_000) as blocker:
        panel.buttons["sweep"].click()
    kind, curve = blocker.args
    assert kind == "sweep" and len(curve.eps) == 3
    assert panel.robust_view.points == 3
    np.testing.assert_allclose(panel.robust_view.curve.yData, curve.accuracy)
    assert "clean" in panel.summary.text() and panel.buttons["sweep"].isEnabled()


def test_analysis_cancel_stops_and_keeps_the_window_usable(qtbot, main_window):
    w = main_window
    panel = w.analysis_panel
    panel.count.setValue(64)
    panel.eps_range.setText("0:64:1/255")
    _configure(w, attack="pgd", norm="linf", steps=50)
    with qtbot.waitSignal(w.analysis_state.failed, timeout=120_000) as blocker:
        panel.buttons["sweep"].click()
        assert panel.cancel.isEnabled()
        panel.cancel.click()
    assert "cancelled" in blocker.args[0]
    assert panel.buttons["sweep"].isEnabled()


def test_landscape_and_noise_views_fill_in(qtbot, main_window):
    w = main_window
    panel = w.analysis_panel
    _configure(w, resolution=32, attack="pgd", norm="linf", eps=8 / 255, steps=10)
    with qtbot.waitSignal(w.analysis_state.finished, timeout=120_000):
        panel.buttons["landscape"].click()
    prediction = panel.landscape_view.prediction
    assert prediction is not None and prediction.shape == (41, 41)
    assert prediction[20, 20] == w.state.model.labels.index("star")
    panel.count.setValue(12)
    with qtbot.waitSignal(w.analysis_state.finished, timeout=120_000) as blocker:
        panel.buttons["noise"].click()
    result = blocker.args[1]
    assert panel.noise_view.values["attack"] == [result.adversarial_fooled]
    assert result.gaussian_fooled < result.adversarial_fooled


def test_method_settings_show_only_what_applies_to_the_norm(main_window):
    w = main_window
    c = w.controls
    c.attack.setCurrentIndex(c.attack.findData("pgd"))
    c.norm.setCurrentIndex(c.norm.findData("linf"))
    assert c.params_box.isHidden()
    c.norm.setCurrentIndex(c.norm.findData("l1"))
    assert not c.params_box.isHidden() and "l1_fraction" in c.param_widgets
    assert w.state.config.attack.norm == "l1" and w.state.config.attack.eps == pytest.approx(20.0)


def test_the_explorer_run_counter_shows_only_on_the_explorer_tab(main_window):
    w = main_window
    assert not w.progress.isHidden()
    w.tabs.setCurrentWidget(w.analysis_panel)
    assert w.progress.isHidden() and w.rate_label.isHidden()
    w.tabs.setCurrentIndex(0)
    assert not w.progress.isHidden()


def test_run_and_stop_belong_to_the_tab_shown(qtbot, main_window, tmp_path):
    """F5 and Esc drive the tab shown; Pause, Step, Live and Replay exist only on the Explorer, so no
    key on another tab starts or saves an Explorer attack."""
    w = main_window
    explorer_only = (w.pause_action, w.step_action, w.live_action, w.replay_action)
    assert all(action.isVisible() for action in explorer_only)
    w.tabs.setCurrentWidget(w.analysis_panel)
    assert not any(action.isVisible() for action in explorer_only) and w.stop_action.text() == "Cancel"
    w.run_action.trigger()  # nothing run here yet: a word, and no Explorer run
    assert w.state.run_state == "idle" and "Choose an analysis" in w.statusBar().currentMessage()
    w.analysis_panel.count.setValue(2)
    w.analysis_panel.eps_range.setText("0:4:4/255")
    _configure(w, attack="pgd", norm="linf", steps=2)
    with qtbot.waitSignal(w.analysis_state.finished, timeout=120_000):
        w.analysis_panel.buttons["sweep"].click()
    with qtbot.waitSignal(w.analysis_panel.runRequested, timeout=5_000) as again:
        w.run_action.trigger()  # F5 runs the analysis last run on this tab again
    assert again.args[0] == "sweep" and w.state.run_state == "idle"
    w.stop_action.trigger()  # Esc cancels the tab's task
    qtbot.waitUntil(lambda: w.analysis_panel.buttons["sweep"].isEnabled(), timeout=120_000)
    w.tabs.setCurrentWidget(w.stability_panel)
    with qtbot.waitSignal(w.stability_panel.runRequested, timeout=5_000):
        w.run_action.trigger()  # the lab's own Run
    w.stop_action.trigger()
    qtbot.waitUntil(lambda: w.stability_panel.run_button.isEnabled(), timeout=120_000)
    runs = tmp_path / "runs"
    assert w.state.run_state == "idle" and not (runs.exists() and any(runs.iterdir()))  # no Explorer run saved
    w.tabs.setCurrentIndex(0)
    assert all(action.isVisible() for action in explorer_only) and w.stop_action.text() == "Stop"
    assert w.run_action.text() == "Run" and w.run_action.isEnabled() and not w.stop_action.isEnabled()


def test_the_controls_hold_every_setting_of_the_run_configuration(main_window):
    """The Explorer's controls are checked against the config dataclasses: every described setting
    (but the model and image, chosen elsewhere) has a control that keeps its value."""
    from advlens.engine.config import AttackConfig, RunConfig, described_fields

    attack = AttackConfig(attack="pgd", norm="l2", eps=1.5, steps=7, step_size=0.125, random_start=False, target=3,
                          seed=11, early_stop=True, restarts=2, params={"l1_fraction": 0.05})
    run = RunConfig(resolution=32, resample_filter="bicubic", device="cpu", attack=attack)
    values = {**{k: v for k, v in run.to_dict().items() if k not in ("model", "image", "attack")}, **attack.to_dict()}
    w = main_window
    w.controls.set_config(values)
    shown = w.controls.config()
    names = {f.name for f in described_fields(AttackConfig)}
    names |= {f.name for f in described_fields(RunConfig)} - {"model", "image"}
    assert names <= set(shown)
    for name in names:
        if name == "params":
            assert shown[name]["l1_fraction"] == pytest.approx(0.05)
        elif isinstance(values[name], float):
            assert shown[name] == pytest.approx(values[name]), name
        else:
            assert shown[name] == values[name], name
