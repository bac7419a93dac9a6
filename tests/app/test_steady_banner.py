"""The Explorer's headline keeps its room when a live text wraps to a line more or fewer, so nothing under it moves."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from advlens.widgets.banner import SteadyBanner

pytestmark = pytest.mark.gui

ONE_LINE = "Step 14/1500: still star (100%)"
TWO_LINES = "Step 1014/1500: star → cross (100%) — model FOOLED · PGD Linf ε=8/255 · L2 3.083 · Linf 8.00/255"


def _shown(qtbot, banner: QLabel) -> tuple[QWidget, QWidget]:
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.addWidget(banner)
    below = QWidget()
    layout.addWidget(below, 1)
    qtbot.addWidget(page)
    page.resize(420, 400)
    page.show()
    qtbot.waitExposed(page)
    return page, below


def _settled(page: QWidget) -> None:
    page.layout().activate()  # synchronous: the layout sets every child's geometry before it returns


def test_a_text_one_line_longer_moves_nothing_below(qtbot):
    banner = SteadyBanner(ONE_LINE)
    page, below = _shown(qtbot, banner)
    _settled(page)
    top, height = below.y(), banner.height()
    room = banner.contentsRect().width()
    advance = banner.fontMetrics().horizontalAdvance
    assert advance(ONE_LINE) < room < advance(TWO_LINES) < 1.8 * room  # one line, then two
    banner.setText(TWO_LINES)
    _settled(page)
    assert (below.y(), banner.height()) == (top, height)
    banner.setText(ONE_LINE)
    _settled(page)
    assert (below.y(), banner.height()) == (top, height)


def test_a_plain_wrapped_label_would_move_what_is_below(qtbot):
    """What the steady banner prevents (so the test above can fail): a QLabel grows by a line."""
    label = QLabel(ONE_LINE)
    label.setWordWrap(True)
    page, below = _shown(qtbot, label)
    _settled(page)
    top = below.y()
    label.setText(TWO_LINES)
    _settled(page)
    assert below.y() > top


def test_a_longer_text_still_gets_its_lines_and_a_bigger_font_more_room(qtbot):
    banner = SteadyBanner(ONE_LINE)
    page, _ = _shown(qtbot, banner)
    _settled(page)
    room = banner.minimumHeight()
    banner.setText(" ".join([TWO_LINES] * 3))
    _settled(page)
    assert banner.height() > room  # the room is a minimum, never a clip
    font = QFont(banner.font())
    font.setPointSizeF(font.pointSizeF() * 2)
    banner.setFont(font)
    assert banner.minimumHeight() > 1.5 * room  # demo mode's larger type gets two of its own lines
