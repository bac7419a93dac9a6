"""The Stability lab tab, driven as a person would, offscreen (set by conftest before Qt loads)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _small(panel, stripes="2,4", dims="2,3", steps=400, seeds=2):
    panel.stripes.setText(stripes)
    panel.dims.setText(dims)
    panel.train_points.setValue(80)
    panel.test_points.setValue(40)
    panel.seeds.setValue(seeds)
    panel.steps.setValue(steps)


def test_the_tab_trains_live_and_fills_plots_table_and_summary(qtbot, main_window):
    w = main_window
    w.tabs.setCurrentWidget(w.stability_panel)
    assert w.tabs.tabText(w.tabs.currentIndex()) == "Stability lab"
    panel = w.stability_panel
    _small(panel)
    seen_points: list[int] = []

    def watch(_snapshot) -> None:  # runs after the presenter drew the snapshot
        curves = panel.loss_curves
        if curves and curves[0].xData is not None:
            seen_points.append(len(curves[0].xData))

    w.stability_state.partial.connect(watch)
    with qtbot.waitSignal(w.stability_state.finished, timeout=120_000) as blocker:
        panel.run_button.click()
        assert panel.cancel_button.isEnabled() and not panel.run_button.isEnabled()
    result = blocker.args[0]
    assert [(r.stripes, r.dim) for r in result.rows] == [(2, 2), (4, 2), (2, 3), (4, 3)]
    # the training curve was drawn while it grew, not only at the end (16 log points per training)
    assert any(0 < n < 16 for n in seen_points)
    # the sweep plots show K at the first d, one point per K, with the engine's numbers
    assert panel.axis() == ("stripes", 2)
    assert panel.curve_points() == {"fixed": 2, "zigzag": 2, "nearest": 2, "wide": 2}
    at_d2 = [r for r in result.rows if r.dim == 2]
    np.testing.assert_allclose(panel.accuracy_curves["fixed"].yData, [r.fixed_accuracy for r in at_d2])
    np.testing.assert_allclose(panel.rho_curves["zigzag"].yData, [r.zigzag.rho for r in at_d2])
    np.testing.assert_allclose(panel.good_curve.yData, [r.good_fraction for r in at_d2])
    assert panel.table.rowCount() == 4 and panel.table.item(3, 0).text() == "4"
    assert "zigzag" in panel.summary.text().lower() and panel.summary.text() == result.summary
    assert "departs from the paper" in panel.notes.text()
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()
    # plotting against d instead: K held at 2, the two dimensions on the x axis
    panel.x_axis.setCurrentIndex(panel.x_axis.findData("dim"))
    assert panel.axis() == ("dim", 2)
    np.testing.assert_allclose(panel.rho_curves["fixed"].xData, [2, 3])
    panel.fixed_value.setCurrentIndex(panel.fixed_value.findData(4))
    np.testing.assert_allclose(panel.accuracy_curves["zigzag"].yData, [1.0, 1.0])
    for widget in (panel.stripes, panel.dims, panel.width_box, panel.depth_box, panel.seeds, panel.steps, panel.norm,
                   panel.run_button, panel.cancel_button):
        assert widget.toolTip(), f"{widget} has no tooltip"


def test_bad_settings_give_one_message_and_no_run(qtbot, main_window):
    panel = main_window.stability_panel
    panel.stripes.setText("1,4")
    with qtbot.waitSignal(main_window.stability_state.failed, timeout=5_000) as blocker:
        panel.run_button.click()
    assert "stripes" in blocker.args[0]
    assert "stopped" in panel.summary.text() and panel.run_button.isEnabled()
    assert main_window.stability_state.handle is None


def test_cancel_stops_the_run_and_the_window_stays_usable(qtbot, main_window):
    panel = main_window.stability_panel
    _small(panel, stripes="2:64", dims="2,64", steps=20_000)
    with qtbot.waitSignal(main_window.stability_state.failed, timeout=60_000) as blocker:
        panel.run_button.click()
        qtbot.waitUntil(lambda: bool(panel.loss_curves) and panel.loss_curves[0].xData is not None, timeout=30_000)
        panel.cancel_button.click()
    assert "cancelled" in blocker.args[0]
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_closing_the_window_mid_run_stops_the_worker(qtbot, main_window):
    panel = main_window.stability_panel
    _small(panel, stripes="2:64", dims="2", steps=20_000)
    panel.run_button.click()
    handle = main_window.stability_state.handle
    qtbot.waitUntil(lambda: handle.progress.version > 0, timeout=30_000)
    main_window.close()
    assert handle.done() and handle.poll().kind == "cancelled"
