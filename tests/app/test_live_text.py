"""Texts that change during a run (captions, the banner, the rate counter, the step bar) repaint themselves
and ask no layout for room, so nothing under them moves and the window is not re-laid out."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QProgressBar, QVBoxLayout, QWidget

from advlens.widgets.live_text import LiveLabel, LiveProgressBar, room_for_lines

pytestmark = pytest.mark.gui

ONE_LINE = "Step 14/1500: still star (100%)"
TWO_LINES = "Step 1014/1500: star → cross (100%) — model FOOLED · PGD Linf ε=8/255 · L2 3.083 · Linf 8.00/255"


class EventCount(QObject):
    """Counts the events of one type a widget receives."""

    def __init__(self, widget: QWidget, kind: QEvent.Type):
        super().__init__()
        self.kind, self.count = kind, 0
        widget.installEventFilter(self)

    def eventFilter(self, _watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == self.kind:
            self.count += 1
        return False


def _shown(qtbot, label: QWidget) -> tuple[QWidget, QWidget]:
    page = QWidget()
    layout = QVBoxLayout(page)
    layout.addWidget(label)
    below = QWidget()
    layout.addWidget(below, 1)
    qtbot.addWidget(page)
    page.resize(420, 400)
    page.show()
    qtbot.waitExposed(page)
    return page, below


def _settled(page: QWidget) -> None:
    QCoreApplication.sendPostedEvents()  # layout requests, if any were posted
    page.layout().activate()  # synchronous: the layout sets every child's geometry before it returns


def test_a_text_one_line_longer_moves_nothing_below(qtbot):
    banner = LiveLabel(ONE_LINE, lines=2, wrap=True)
    page, below = _shown(qtbot, banner)
    _settled(page)
    top, height = below.y(), banner.height()
    room = banner.contentsRect().width()
    advance = banner.fontMetrics().horizontalAdvance
    assert advance(ONE_LINE) < room < advance(TWO_LINES) < 1.8 * room  # one line, then two
    banner.setText(TWO_LINES)
    _settled(page)
    assert (below.y(), banner.height()) == (top, height)
    assert banner.text() == TWO_LINES and banner.accessibleName() == TWO_LINES
    banner.setText(ONE_LINE)
    _settled(page)
    assert (below.y(), banner.height()) == (top, height)


def test_a_plain_wrapped_label_would_move_what_is_below(qtbot):
    """What the live label prevents (so the test above can fail): a QLabel grows by a line."""
    label = QLabel(ONE_LINE)
    label.setWordWrap(True)
    page, below = _shown(qtbot, label)
    _settled(page)
    top = below.y()
    label.setText(TWO_LINES)
    _settled(page)
    assert below.y() > top


@pytest.mark.parametrize("live", [True, False])
def test_a_new_text_that_fits_asks_no_layout_for_room(qtbot, live):
    label = LiveLabel("12 steps/s · 30 fps", width_text="00000 steps/s · 00 fps") if live else QLabel("12 steps/s")
    page, _ = _shown(qtbot, label)
    _settled(page)
    requests = EventCount(page, QEvent.Type.LayoutRequest)
    for rate in (250, 312, 298):
        label.setText(f"{rate} steps/s · 31 fps")
        QCoreApplication.sendPostedEvents()
    assert (requests.count == 0) is live  # a QLabel asks its parent's layout each time


def test_a_longer_text_gets_its_lines_then_gives_them_back_and_a_bigger_font_more_room(qtbot):
    banner = LiveLabel(ONE_LINE, lines=2, wrap=True)
    page, _ = _shown(qtbot, banner)
    _settled(page)
    room = banner.height()
    banner.setText(" ".join([TWO_LINES] * 3))
    _settled(page)
    assert banner.height() > room  # the room is a minimum, never a clip
    banner.setText(ONE_LINE)
    _settled(page)
    assert banner.height() == room
    font = QFont(banner.font())
    font.setPointSizeF(font.pointSizeF() * 2)
    banner.setFont(font)
    _settled(page)
    assert banner.height() > 1.5 * room  # demo mode's larger type gets two of its own lines


def test_a_counter_holds_the_widest_width_it_needed(qtbot):
    label = LiveLabel("", width_text="00000 steps/s · 00 fps")
    template = label.sizeHint().width()
    assert template >= label.fontMetrics().horizontalAdvance("00000 steps/s · 00 fps")
    label.setText("9 steps/s · 9 fps")
    assert label.sizeHint().width() == template  # shorter digits: the status bar does not shift
    wide = "123456789 steps/s · 60 fps (paused at a breakpoint)"
    label.setText(wide)
    assert label.sizeHint().width() >= label.fontMetrics().horizontalAdvance(wide)  # never clipped
    held = label.sizeHint().width()
    label.setText("9 steps/s")
    assert label.sizeHint().width() == held


@pytest.mark.parametrize("live", [True, False])
def test_a_new_step_is_painted_with_the_next_frame_not_at_once(qtbot, live):
    bar = LiveProgressBar() if live else QProgressBar()
    bar.setRange(0, 1500)
    page, _ = _shown(qtbot, bar)  # held: the page owns the bar
    paints = EventCount(bar, QEvent.Type.Paint)
    bar.update()
    qtbot.waitUntil(lambda: paints.count > 0)  # it has been painted: from now on Qt may repaint it at once
    paints.count = 0
    bar.setValue(700)
    assert bar.value() == 700
    assert (paints.count == 0) is live  # QProgressBar repaints inside setValue
    qtbot.waitUntil(lambda: paints.count > 0)  # and the live bar with the next paint


@pytest.mark.parametrize("points", [9, 12, 14, 18, 24])
def test_a_two_line_caption_asks_for_two_lines_at_any_size(qtbot, points):
    """A caption of two short lines holds two lines of room, not three (a demo-mode font once got three,
    which shrank every picture by a line)."""
    caption = LiveLabel("star 100%\n64×64 px", lines=2, wrap=True)
    font = QFont(caption.font())
    font.setPointSize(points)
    caption.setFont(font)
    page, _ = _shown(qtbot, caption)
    _settled(page)
    assert caption.rows_needed() == 2
    assert caption.height() == room_for_lines(caption, 2, leading=1)
