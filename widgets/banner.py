"""A tab's headline label that may run to several sentences: it wraps, and past a few lines it scrolls
instead of pushing the plots below it off a small screen."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QWidget

from .live_text import room_for_lines


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
