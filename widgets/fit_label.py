"""A one-line label that never holds its pane wide: when the text does not fit, it is drawn smaller
(down to SMALLEST of its size) and only then elided."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetricsF, QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy

SMALLEST = 0.7


class FitLabel(QLabel):
    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        hint = super().minimumSizeHint()
        return QSize(self.fontMetrics().horizontalAdvance("M") * 3, hint.height())

    def drawn_font(self):
        """The font the text is drawn in: the label's own, or smaller so that the text fits."""
        font = self.font()
        room = self.contentsRect().width()
        width = QFontMetricsF(font).horizontalAdvance(self.text())
        if width > room > 0:
            font.setPointSizeF(font.pointSizeF() * max(SMALLEST, room / width))
        return font

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        font = self.drawn_font()
        painter.setFont(font)
        painter.setPen(self.palette().color(self.foregroundRole()))
        rect = self.contentsRect()
        text = QFontMetricsF(font).elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(self.alignment()), text)
        painter.end()
