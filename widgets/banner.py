"""A tab's headline label that may run to several sentences: it wraps, and past a few lines it scrolls
instead of pushing the plots below it off a small screen."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QWidget


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
        margins = self.label.contentsMargins()
        return self.label.fontMetrics().lineSpacing() * self.max_lines + margins.top() + margins.bottom() + 20

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        width = max(self.viewport().width(), 100)
        return QSize(width, min(self.label.heightForWidth(width) + 2, self._cap()))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(50, min(self.label.fontMetrics().lineSpacing() * 2 + 20, self.sizeHint().height()))

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
    regenerating ten axes). Holding the height makes those changes repaint the label alone; a text that
    needs more lines still grows it (the room is a minimum). It follows font changes (themes, demo mode).
    """

    def __init__(self, text: str = "", lines: int = 2, parent: QWidget | None = None):
        super().__init__(text, parent)
        self.lines = lines
        self.setWordWrap(True)
        self.setMinimumWidth(10)
        self._hold_room()

    def _hold_room(self) -> None:
        margins = self.contentsMargins()
        line = self.fontMetrics().lineSpacing() + 1  # Qt's text layout adds a pixel of leading per line
        self.setMinimumHeight(line * self.lines + margins.top() + margins.bottom())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._hold_room()
