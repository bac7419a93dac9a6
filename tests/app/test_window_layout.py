"""The window on a 1024×768 projector: every tab fits with nothing cut off, with or without the side panel,
and with ImageNet's long class names in the Target box; a first start fills the screen."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyqtgraph as pg
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QTabBar,
    QWidget,
)

pytestmark = pytest.mark.gui

PROJECTOR = (1024, 768)
MIN_VIEW = 50  # px: a plot's data area at least this wide and tall


def _in_scrolled_content(widget: QWidget, stop: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not stop:
        if isinstance(parent, QAbstractScrollArea) and not isinstance(parent, pg.GraphicsView):
            return True
        parent = parent.parentWidget()
    return False


def cut_off(window) -> list[str]:
    """Widgets of the current tab that lie outside the window or are squeezed below their minimum, plot titles
    wider than their plot, and side columns whose content is wider than the column."""
    from advlens.widgets.side_column import SideColumn

    tab = window.tabs.currentWidget()
    area = window.rect()
    problems = []
    for widget in tab.findChildren(QWidget):
        if not widget.isVisibleTo(window):
            continue
        if isinstance(widget, SideColumn) and not widget.content_fits():
            problems.append(f"side column of {type(tab).__name__}: content wider than the column")
        if isinstance(widget.parentWidget(), QTabBar):
            continue  # a tab bar's own scroll arrows: Qt sizes them
        if _in_scrolled_content(widget, tab) or not isinstance(
                widget, QLabel | QAbstractButton | QComboBox | QLineEdit | QAbstractSpinBox | pg.GraphicsView):
            continue
        name = f"{type(widget).__name__} {getattr(widget, 'text', lambda: '')()!r}"[:80]
        rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
        if not area.contains(rect):
            problems.append(f"{name} at {rect.getRect()} is outside the window")
        hint = widget.minimumSizeHint()
        if widget.width() < hint.width() - 1 or widget.height() < hint.height() - 1:
            problems.append(f"{name} squeezed to {widget.width()}x{widget.height()} < {hint.width()}x{hint.height()}")
        if isinstance(widget, pg.GraphicsView):
            least = widget.centralWidget.effectiveSizeHint(Qt.SizeHint.MinimumSize)
            if least.width() > widget.width() + 1 or least.height() > widget.height() + 1:
                problems.append(f"{name}: plots need {least.width():.0f}x{least.height():.0f}, the view has "
                                f"{widget.width()}x{widget.height()}")
            for item in widget.scene().items():
                if isinstance(item, pg.PlotItem) and not isinstance(item, pg.ColorBarItem) and item.isVisible():
                    if item.vb.width() < MIN_VIEW or item.vb.height() < MIN_VIEW:
                        problems.append(f"plot {item.titleLabel.text!r}: data area squeezed to "
                                        f"{item.vb.width():.0f}x{item.vb.height():.0f}")
                if isinstance(item, pg.AxisItem) and item.isVisible() and item.label.isVisible() and item.labelText:
                    length = item.width() if item.orientation in ("top", "bottom") else item.height()
                    if item.label.boundingRect().width() > length + 2:
                        problems.append(f"axis label {item.labelText!r} longer than its axis ({length:.0f} px)")
                if isinstance(item, pg.PlotItem) and item.titleLabel.isVisible() and item.titleLabel.text:
                    if item.titleLabel.item.boundingRect().width() > item.width() + 2:
                        problems.append(f"plot title {item.titleLabel.text!r} wider than its plot")
    return problems


def _settle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.size().toTuple() == PROJECTOR, timeout=5_000)
    QApplication.processEvents()


@pytest.mark.parametrize("side_panel", [True, False])
def test_every_tab_fits_a_1024x768_projector_with_nothing_cut_off(qtbot, main_window, side_panel):
    from advlens.engine.loaders import imagenet_labels

    w = main_window
    w.controls.set_classes(imagenet_labels())  # 1000 long names in the Target box
    w.controls.targeted.setChecked(True)
    w.set_side_panels_shown(side_panel)
    w.resize(*PROJECTOR)
    _settle(qtbot, w)
    for index in range(w.tabs.count()):
        w.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        assert w.size().toTuple() == PROJECTOR, f"{w.tabs.tabText(index)} holds the window wider or taller"
        assert cut_off(w) == [], w.tabs.tabText(index)
    w.tabs.setCurrentIndex(0)
    sides = {pane.graphics.width() for pane in w.panes}
    assert min(sides) >= 120 and max(sides) - min(sides) <= 2  # four pictures of one usable size


def test_every_tab_fits_1024x768_at_the_demo_modes_sizes(qtbot, main_window):
    """Full-screen demo mode on a 1024×768 projector: the demo's fonts and plot sizes in a window of that size
    (the offscreen test screen is another size, so the window is sized by hand)."""
    w = main_window
    w.set_demo_mode(True)
    try:
        qtbot.waitUntil(lambda: w.isFullScreen(), timeout=5_000)
        w.showNormal()
        w.resize(*PROJECTOR)
        _settle(qtbot, w)
        for index in range(w.tabs.count()):
            w.tabs.setCurrentIndex(index)
            QApplication.processEvents()
            assert w.size().toTuple() == PROJECTOR, f"{w.tabs.tabText(index)} holds the window larger"
            problems = cut_off(w)
            assert problems == [], "\n".join([w.tabs.tabText(index), *problems])
    finally:
        w.set_demo_mode(False)


def test_hiding_the_side_panel_gives_the_pictures_the_room(qtbot, main_window):
    w = main_window
    w.resize(*PROJECTOR)
    _settle(qtbot, w)
    before = w.original_pane.graphics.width()
    w.side_panel_action.trigger()
    assert not w.controls_column.isVisible() and not w.stability_panel.side.isVisibleTo(w.stability_panel)
    qtbot.waitUntil(lambda: w.original_pane.graphics.width() > before * 1.3, timeout=5_000)
    w.side_panel_action.trigger()
    assert w.controls_column.isVisible()


def test_a_first_start_fills_the_screen(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLENS_SETTINGS", str(tmp_path / "fresh.ini"))
    monkeypatch.setenv("ADVLENS_RUNS_DIR", str(tmp_path / "runs"))
    from advlens.gui import create_window

    window = create_window(remember_layout=True)
    qtbot.addWidget(window)
    window.show_initial()
    screen = window.screen().availableGeometry()
    qtbot.waitUntil(lambda: window.isMaximized() or window.width() >= 0.8 * screen.width(), timeout=5_000)
    window.close()


def test_the_screenshot_takes_the_size_it_is_given(tmp_path):
    out = tmp_path / "small.png"
    env = {"QT_QPA_PLATFORM": "offscreen", "ADVLENS_RUNS_DIR": str(tmp_path / "runs"),
           "ADVLENS_SETTINGS": str(tmp_path / "settings.ini"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "advlens", "gui", "--demo", "--screenshot", str(out),
                             "--screenshot-size", "1024x768"], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    with Image.open(out) as image:
        assert image.size == PROJECTOR
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 100
    bad = subprocess.run([sys.executable, "-m", "advlens", "gui", "--screenshot", str(out), "--screenshot-size",
                          "big"], capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "WIDTHxHEIGHT" in bad.stderr
