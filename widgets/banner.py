"""A tab's headline label that may run to several sentences: it wraps, and past a few lines it scrolls
instead of pushing the plots below it off a small screen."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QWidget


def room_for_lines(label: QLabel, lines: int, leading: int = 0) -> int:
    """Height in pixels that `lines` lines of `label`'s own font take, with its contents margins.

    One helper so the scrolling banner's cap and the steady banner's hold measure a line alike; `leading`
    is the pixel Qt's text layout adds per line where the room must fit the text exactly.
    """
    margins = label.contentsMargins()
    return (label.fontMetrics().lineSpacing() + leading) * lines + margins.top() + margins.bottom()


class BannerArea(QScrollArea):
    """Holds `label` (word-wrapped); as tall as its text, but at most `max_lines` lines of the label's font."""

    def __init__(self, label: QLabel, max_lines: int = 4, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = label
        self.max_lines = max_lines
        label.setWordWrap(True)
        label.setMinimumWidth(10)
        self.setWidget(label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        label.installEventFilter(self)

    def _cap(self) -> int:
        return room_for_lines(self.label, self.max_lines) + 20

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        width = max(self.viewport().width(), 100)
        return QSize(width, min(self.label.heightForWidth(width) + 2, self._cap()))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(50, min(room_for_lines(self.label, 2) + 20, self.sizeHint().height()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.LayoutRequest, QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.updateGeometry()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.updateGeometry()  # the text wraps to another number of lines


class SteadyBanner(QLabel):
    """A word-wrapped headline that always keeps room for `lines` lines of its font.

    During a run its text changes a few times a second, and a text one line longer or shorter used to
    change its height: the panes under it jumped by a line as the audience watched, and every jump
    re-laid out the window and redrew every plot axis (measured: four jumps a run at 1400 px, each
    regenerating ten axes). With the height held, a new text still asks the window's layout to look again,
    but nothing under the banner moves or resizes, so no pane re-lays out and no axis regenerates; a text
    that needs more lines still grows it (the room is a minimum). It follows font changes (themes, demo mode).
    """

    def __init__(self, text: str = "", lines: int = 2, parent: QWidget | None = None):
        super().__init__(text, parent)
        self.lines = lines
        self.setWordWrap(True)
        self.setMinimumWidth(10)
        self._hold_room()

    def _hold_room(self) -> None:
        self.setMinimumHeight(room_for_lines(self, self.lines, leading=1))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._hold_room()
