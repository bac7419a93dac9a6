"""The Resolution lab tab, offscreen: run a tiny lab, see plots, table, strip and verdict; cancel."""

from __future__ import annotations

import pytest

from advlens.engine.loaders import DEMO_MODEL

pytestmark = pytest.mark.gui


def test_the_lab_tab_runs_and_shows_every_view(qtbot, main_window, tmp_path):
    w = main_window
    w.tabs.setCurrentWidget(w.resolution_panel)
    p = w.resolution_panel
    p.images.setCurrentText("demo:3")
    p.resolutions.setText("16,24,32")
    p.steps.setValue(10)
    with qtbot.waitSignal(w.resolution_state.finished, timeout=180_000) as blocker:
        p.run.click()
        assert p.cancel.isEnabled() and not p.run.isEnabled()
    result = blocker.args[0]
    assert p.strip.shown == sorted(result.strip)
    assert p.table.rowCount() == 3
    assert "slope" in p.outcome.text() and "natively" in p.outcome.text()
    assert p.verdict.text() == result.joint.sentence == result.verdicts[0]  # the joint verdict, in the banner
    assert result.verdicts[1] in p.outcome.text()  # then the per-metric lines
    # readings that predict the same slope share one reference line: Dube A and Simon-Gabriel on Linf
    assert p.linf_plot.reference_labels == ["scale-consistent (null): +0", "Dube A, Simon-Gabriel: -1"]
    medians = [m for m in result.medians("l2", "l2")]
    assert list(p.l2_plot.medians) == pytest.approx(medians, nan_ok=True)
    assert p.run.isEnabled()
    csv_path = w.resolution_tab.export("csv", tmp_path / "lab.csv")
    assert csv_path.read_text().startswith("image,resolution,norm")
    png = w.resolution_tab.export("png", tmp_path / "lab.png")
    assert png.stat().st_size > 1000


def test_bad_settings_say_so_and_cancel_keeps_partial_results(qtbot, main_window):
    w = main_window
    p = w.resolution_panel
    p.resolutions.setText("16,abc")
    p.run.click()
    assert "whole numbers" in p.verdict.text() and p.run.isEnabled()
    p.resolutions.setText("16,24,32,48,64,96,128")
    p.images.setCurrentText("demo:64")
    p.steps.setValue(200)
    with qtbot.waitSignal(w.resolution_state.failed, timeout=180_000) as blocker:
        p.run.click()
        p.cancel.click()
    assert "cancelled" in blocker.args[0]
    assert p.run.isEnabled()


@pytest.mark.gui
def test_the_lab_tab_runs_the_control_models(qtbot, main_window):
    w = main_window
    assert w.controls.model.currentData() == DEMO_MODEL  # the Explorer still opens on the demo
    p = w.resolution_panel
    p.images.setCurrentText("demo:2")
    p.resolutions.setText("16,24,32")
    p.steps.setValue(5)
    p.models.setCurrentIndex(p.models.findData("per-resolution"))
    with qtbot.waitSignal(w.resolution_state.finished, timeout=180_000) as blocker:
        p.run.click()
    result = blocker.args[0]
    assert result.models == {16: ["shapes-cnn-r16", "shapes-cnn-r16-s1"], 32: ["shapes-cnn-r32", "shapes-cnn-r32-s1"]}
    assert result.missing_models == [24] and result.replicates == 2
    assert "per-resolution" in p.outcome.text() and "No model trained at 24 px" in p.outcome.text()
    assert p.table.rowCount() == 2


