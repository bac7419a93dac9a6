"""Switching the theme with every tab drawn: legends keep their text, lines and captions stay visible."""

from __future__ import annotations

import re

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui

WAIT = 180_000  # ms: a bound for a stuck test, never a synchronisation
TEXT_CONTRAST = 3.0  # WCAG contrast ratio against the plot background, at least (large text)
LINE_CONTRAST = 1.5


def luminance(colour: QColor) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def contrast(colour: QColor, background: QColor) -> float:
    high, low = sorted((luminance(colour), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def drawn_colour(text_item) -> QColor | None:
    """The colour a LabelItem's text is really drawn in (read off its rendered rich text)."""
    found = re.search(r"color:\s*(#[0-9a-fA-F]{6})", text_item.toHtml())
    return QColor(found.group(1)) if found else text_item.defaultTextColor()


def unreadable(root) -> list[str]:
    """Text and lines that vanish against the plot background, and legend entries without text."""
    problems = []
    for view in root.findChildren(pg.GraphicsView):
        background = view.backgroundBrush().color()
        for item in view.scene().items():
            if not item.isVisible() or item.opacity() == 0:
                continue
            if isinstance(item, pg.LegendItem):
                for _sample, label in item.items:
                    if not label.text or label.item.toPlainText() != label.text:
                        problems.append(f"legend entry lost its text: {label.text!r}")
            if isinstance(item, pg.LabelItem) and item.text:
                colour = drawn_colour(item.item)
                if contrast(colour, background) < TEXT_CONTRAST:
                    problems.append(f"text {item.text!r} drawn {colour.name()} on {background.name()}")
            elif isinstance(item, pg.TextItem) and item.toPlainText():
                colour = item.textItem.defaultTextColor()
                if contrast(colour, background) < TEXT_CONTRAST:
                    problems.append(f"text {item.toPlainText()!r} drawn {colour.name()} on {background.name()}")
            elif isinstance(item, pg.PlotDataItem) and item.xData is not None and len(item.xData):
                pen = item.opts.get("pen")
                if pen is None:
                    if item.opts.get("symbol") is None:
                        problems.append("a curve with data lost its pen and has no symbols")
                    continue
                pen = pg.mkPen(pen)
                if pen.style() != pg.QtCore.Qt.PenStyle.NoPen and contrast(pen.color(), background) < LINE_CONTRAST:
                    problems.append(f"a line drawn {pen.color().name()} vanishes on {background.name()}")
            elif isinstance(item, pg.AxisItem) and item.style.get("showValues", True):
                colour = item.textPen().color()
                if contrast(colour, background) < TEXT_CONTRAST:
                    problems.append(f"{item.orientation} axis text drawn {colour.name()} on {background.name()}")
    return problems


def _populate_every_tab(qtbot, w) -> None:
    w.controls.steps.setValue(8)
    with qtbot.waitSignal(w.state.runEnded, timeout=WAIT):
        w.state.start()
    p = w.resolution_panel
    p.images.setCurrentText("demo:2")
    p.resolutions.setText("16,24,32")
    p.steps.setValue(5)
    with qtbot.waitSignal(w.resolution_state.finished, timeout=WAIT):
        p.run.click()
    s = w.stability_panel
    s.stripes.setText("2,4")
    s.dims.setText("2")
    s.train_points.setValue(60)
    s.test_points.setValue(30)
    s.seeds.setValue(1)
    s.steps.setValue(100)
    with qtbot.waitSignal(w.stability_state.finished, timeout=WAIT):
        s.run_button.click()
    a = w.analysis_panel
    a.count.setValue(4)
    for kind in ("noise", "frequency", "landscape"):
        with qtbot.waitSignal(w.analysis_state.finished, timeout=WAIT):
            a.buttons[kind].click()


def test_switching_themes_with_every_tab_drawn_keeps_legends_lines_and_captions(qtbot, main_window):
    w = main_window
    _populate_every_tab(qtbot, w)
    labels_before = {id(legend): [label.text for _s, label in legend.items]
                     for view in w.findChildren(pg.GraphicsView) for legend in view.scene().items()
                     if isinstance(legend, pg.LegendItem)}
    assert sum(len(v) for v in labels_before.values()) >= 10  # the Explorer's, the labs' and the analyses' legends
    assert w.resolution_panel.l2_plot.fit.xData is not None and w.resolution_panel.strip.shown
    try:
        for theme in ("dark", "light", "system", "dark", "light"):
            w.set_theme(theme)
            QApplication.processEvents()
            for index in range(w.tabs.count()):
                w.tabs.setCurrentIndex(index)
                QApplication.processEvents()
            problems = unreadable(w)
            assert problems == [], "\n".join([theme, *problems])
            labels_now = {id(legend): [label.text for _s, label in legend.items]
                          for view in w.findChildren(pg.GraphicsView) for legend in view.scene().items()
                          if isinstance(legend, pg.LegendItem)}
            assert labels_now == labels_before, theme
        # and with every tab drawn, the 1024x768 projector still shows it all
        from tests.app.test_window_layout import PROJECTOR, cut_off

        w.resize(*PROJECTOR)
        qtbot.waitUntil(lambda: w.size().toTuple() == PROJECTOR, timeout=5_000)
        for index in range(w.tabs.count()):
            w.tabs.setCurrentIndex(index)
            QApplication.processEvents()
            problems = cut_off(w)
            assert problems == [], "\n".join([w.tabs.tabText(index), *problems])
        good = w.stability_panel.good_plot
        assert "1 seeds" not in good.getAxis("left").labelText + good.getPlotItem().titleLabel.text
        assert "0/0" not in w.analysis_panel.task.eta.text()
    finally:
        w.set_theme("system")


@pytest.fixture
def dark_theme():
    from advlens.theme import _choice, apply_theme, set_choice

    app = QApplication.instance()
    set_choice("dark")
    apply_theme(app)
    yield app
    set_choice(_choice)
    apply_theme(app)


@pytest.mark.parametrize("checked", [False, True])
def test_a_check_box_stands_out_on_the_dark_theme(qtbot, dark_theme, checked):
    """An empty box's outline (WCAG 3:1 for controls) against the window; a ticked one shows its tick."""
    from PySide6.QtWidgets import QCheckBox, QStyle, QStyleOptionButton

    box = QCheckBox("Stop when fooled")
    box.setChecked(checked)
    qtbot.addWidget(box)
    box.show()
    qtbot.waitExposed(box)
    option = QStyleOptionButton()
    box.initStyleOption(option)
    rect = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    image = box.grab().toImage()
    window = box.palette().color(box.backgroundRole())
    best = max(contrast(image.pixelColor(x, y), window)
               for x in range(rect.left(), rect.right() + 1) for y in range(rect.top(), rect.bottom() + 1))
    assert best >= 3.0, f"the indicator's strongest pixel has contrast {best:.2f} against the window"
