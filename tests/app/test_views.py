"""The views a lecture hall reads: legends off the data, an axis per norm, perturbation views and scales,
colour-bar units, log axes in side lengths, the ε slider, long class names, zoom, pan and pixel read-out."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QSlider

pytestmark = pytest.mark.gui

WAIT = 60_000  # ms: a bound for a stuck test, never a synchronisation


def _run(qtbot, w, **settings) -> None:
    config = {"steps": 6, **settings}
    w.controls.set_config(config)
    with qtbot.waitSignal(w.state.runEnded, timeout=WAIT):
        w.state.start()
    QApplication.processEvents()


def test_legends_sit_outside_the_plots_and_name_only_the_curves_drawn(qtbot, main_window):
    w = main_window
    _run(qtbot, w)
    labels = w.plots.legend_labels()
    assert {"loss", "margin", "true class", "L2", "Linf (/255)"} <= set(labels)
    assert "target" not in labels  # an untargeted run draws no target curve
    for plot, legend in zip(w.plots.plots, w.plots.legends, strict=True):
        assert not legend.sceneBoundingRect().intersects(plot.vb.sceneBoundingRect())
    _run(qtbot, w, target=3)
    assert "target" in w.plots.legend_labels()


def test_l2_and_linf_each_have_their_own_axis(qtbot, main_window):
    w = main_window
    _run(qtbot, w)
    norms = w.plots.plots[2]
    l2, linf = w.plots.curves["l2"], w.plots.curves["linf_255"]
    assert l2.getViewBox() is norms.vb and linf.getViewBox() is w.plots.step_plots.right_view
    assert norms.getAxis("right").labelText == "Linf" and norms.getAxis("left").labelText == "L2"
    l2_top = norms.vb.viewRange()[1][1]
    linf_top = w.plots.step_plots.right_view.viewRange()[1][1]
    assert np.nanmax(l2.yData) <= l2_top < 2 * np.nanmax(l2.yData)  # L2 fills its own axis ...
    assert np.nanmax(linf.yData) <= linf_top < 2 * np.nanmax(linf.yData)  # ... and Linf its own


def _coloured_share(pane) -> float:
    """Share of the perturbation pane's values at a tenth of full colour or more."""
    lo, hi = pane.image.getLevels()
    return float(np.mean(np.abs(pane.current) >= 0.1 * hi))


def test_the_perturbation_pane_offers_rgb_and_mean_and_a_fixed_scale_that_shows_sparse_l2_changes(qtbot, main_window):
    w = main_window
    _run(qtbot, w, attack="deepfool", norm="l2")
    pane = w.perturbation_pane
    w.set_perturbation_display(view="mean", scale="peak")
    peak_share = _coloured_share(pane)
    w.set_perturbation_display(scale="fixed")
    fixed_share = _coloured_share(pane)
    assert fixed_share > peak_share  # the many small changes show on the fixed scale
    assert "3·ε/√n" in pane.colorbar.axis.labelText
    w.set_perturbation_display(view="rgb")
    assert pane.current.ndim == 3 and pane.current.min() >= 0 and pane.current.max() <= 1
    assert not pane.colorbar_shown and "grey" in pane.caption.text()
    assert w.perturbation_actions["rgb"].isChecked() and w.perturbation_actions["fixed"].isChecked()
    w.set_perturbation_display(view="mean")
    assert pane.current.ndim == 2 and pane.colorbar_shown
    for shown in (w.perturbation_pane, w.difference_pane):
        assert "/255" in shown.colorbar.axis.labelText  # every colour bar names its unit


def test_the_log_axes_of_the_resolution_lab_name_the_side_lengths(qtbot):
    from advlens.widgets.resolution_panel import LogLogPlot

    plot = LogLogPlot("test")
    qtbot.addWidget(plot)
    sizes = [16, 32, 64, 128]
    table = np.array([[0.2, 0.3, 0.5, 0.9], [0.25, 0.35, 0.45, 1.1]])
    plot.set_data(sizes, table, [0.22, 0.32, 0.48, 1.0], [0.22, 0.32, 0.48, 1.0], (0.5, -3.0), {"Dube B": -1.0},
                  "raw L2")
    ticks = plot.plot.getAxis("bottom")._tickLevels[0]
    assert [label for _pos, label in ticks] == ["16", "32", "64", "128"]
    assert all("·" not in label for _pos, label in plot.plot.getAxis("left")._tickLevels[0])
    assert plot.outside.labels()[:4] == ["median", "mean", "fit", "per image"] and "Dube B: -1" in plot.outside.labels()


def test_the_landscape_has_a_colour_bar_and_outlines_every_class_region(qtbot):
    from advlens.widgets.analysis_views import LandscapeView

    view = LandscapeView()
    qtbot.addWidget(view)
    axis = np.linspace(-1, 1, 21)
    xx, _yy = np.meshgrid(axis, axis)
    loss = (xx + 1).astype(np.float32)
    prediction = np.where(xx > 0.4, 2, 0)
    view.set_landscape(axis, axis, loss, prediction, (0.6, 0.0))
    assert view.colorbar.levels() == pytest.approx((0.0, 2.0)) and view.colorbar.getAxis("left").labelText == "loss"
    assert len(view.boundaries) == 2
    borders = [curve.mapRectToParent(curve.boundingRect()) for curve in view.boundaries]
    # the border between the classes runs at x = 0.5 (between the cells at 0.4 and 0.5), top to bottom
    assert any(abs(b.left() - 0.45) < 0.06 or abs(b.right() - 0.45) < 0.06 for b in borders), borders
    assert all(b.height() > 1.8 for b in borders)


def test_a_finished_task_never_shows_zero_of_zero(qtbot):
    from advlens.widgets.task_progress import TaskProgress

    task = TaskProgress("stop")
    qtbot.addWidget(task)
    task.set_busy(True)
    task.set_progress(0, 0, None)  # a task that does not count its pieces
    assert "0/0" not in task.eta.text() and task.eta.text() == "working…"
    task.set_busy(False)
    task.finish()
    assert task.eta.text() == "done" and task.bar.value() == task.bar.maximum()
    task.set_busy(True)
    task.set_progress(3, 3, 0.0)
    task.finish()
    assert task.eta.text() == "done: 3/3"


def test_the_eps_slider_moves_a_little_for_a_short_drag_and_keeps_what_the_box_says(qtbot):
    from advlens.widgets.controls import AttackControls

    controls = AttackControls()
    qtbot.addWidget(controls)
    controls.set_attacks([{"name": "pgd", "title": "PGD", "description": "", "norms": ["linf", "l2"]}])
    controls.eps.setValue(8.0)
    slider = controls.eps_slider
    start = slider.value()
    slider.setValue(start + 3)  # a few pixels of drag
    assert 8.0 < controls.eps.value() <= 10.0
    slider.setValue(start)
    assert controls.eps.value() == 8.0  # and back
    slider.triggerAction(QSlider.SliderAction.SliderPageStepAdd)
    assert 8.0 < controls.eps.value() <= 16.0
    values = [controls.slider_to_eps(p) for p in range(slider.maximum() + 1)]
    assert values == sorted(values) and values[0] == 0.0 and values[-1] == controls.eps.maximum()
    for value in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
        controls.eps.setValue(value)
        assert controls.eps.value() == value  # setting the box never moves it through the slider's rounding


def test_each_attack_keeps_its_own_steps_and_starts_at_its_default(qtbot):
    from advlens.state import ExplorerState
    from advlens.widgets.controls import AttackControls

    controls = AttackControls()
    qtbot.addWidget(controls)
    controls.set_attacks(ExplorerState.attack_catalogue())
    choose = lambda name: controls.attack.setCurrentIndex(controls.attack.findData(name))  # noqa: E731
    choose("pgd")
    assert controls.config()["steps"] == 20
    controls.steps.setValue(35)
    choose("cw")
    assert controls.config()["steps"] == 100  # a minimal-norm search starts at its own default
    controls.steps.setValue(60)
    choose("pgd")
    assert controls.config()["steps"] == 35  # and each attack comes back with what it was given
    choose("cw")
    assert controls.config()["steps"] == 60
    controls.set_config({"attack": "fmn", "steps": 7})  # a loaded run keeps its own steps
    assert controls.config()["attack"] == "fmn" and controls.config()["steps"] == 7


def test_long_class_names_elide_in_the_combo_and_in_the_top5_bars_at_any_width(qtbot, main_window):
    from advlens.engine.loaders import imagenet_labels
    from advlens.widgets.prob_bars import ProbabilityBars

    labels = imagenet_labels()
    w = main_window
    w.controls.set_classes(labels)
    assert w.controls.target.minimumSizeHint().width() < 200 and w.controls_column.content_fits()
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    longest = sorted(labels, key=len)[-5:]
    bars.set_probabilities(longest, np.array([0.5, 0.2, 0.1, 0.1, 0.05]))
    for width in (140, 260, 600):
        bars.resize(width, 260)
        bars.show()
        qtbot.waitUntil(lambda width=width: abs(bars.width() - width) <= 1, timeout=5_000)
        QApplication.processEvents()
        room = bars.plot.getPlotItem().vb.width()
        for text in bars.texts:
            assert text.textItem.boundingRect().width() <= room + 2, (width, text.toPlainText())
            assert text.toPlainText().endswith("%")


def _wheel(widget, at: QPoint, steps: int) -> None:
    event = QWheelEvent(QPointF(at), QPointF(widget.mapToGlobal(at)), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_wheel_zoom_pans_all_four_panes_together_and_the_pixel_under_the_pointer_is_read_out(qtbot, main_window):
    w = main_window
    _run(qtbot, w)
    panes = w.panes
    whole = [pane.view.viewRect() for pane in panes]
    viewport = panes[0].graphics.viewport()
    centre = panes[0].graphics.mapFromScene(panes[0].view.sceneBoundingRect().center())
    _wheel(viewport, centre, 3)
    qtbot.waitUntil(lambda: panes[0].view.viewRect().width() < 0.8 * whole[0].width(), timeout=5_000)
    zoomed = panes[0].view.viewRect()
    for pane in panes[1:]:
        assert pane.view.viewRect().width() == pytest.approx(zoomed.width(), rel=0.02)
        assert pane.view.viewRect().center().x() == pytest.approx(zoomed.center().x(), abs=0.5)
    QTest.mouseMove(viewport, centre)
    qtbot.waitUntil(lambda: w.pixel_readout.text().startswith("pixel ("), timeout=5_000)
    text = w.pixel_readout.text()
    assert "original" in text and "adversarial" in text and "Δ" in text
    assert all(pane.marker.isVisible() for pane in panes)
    QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: panes[0].view.viewRect().width() >= 0.99 * whole[0].width(), timeout=5_000)


def test_choosing_the_resolution_labs_left_plot_asks_for_a_redraw(qtbot):
    """The combo box's signal once named a signal that does not exist (`left_metricChanged`): every change of
    the left plot raised in the slot and the plot stayed as it was."""
    from advlens.widgets.resolution_panel import ResolutionPanel

    panel = ResolutionPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.metricChanged, timeout=1000):
        panel.left_metric.setCurrentIndex(panel.left_metric.findData("rms"))
