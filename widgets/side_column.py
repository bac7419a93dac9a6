"""The settings column at the left of a tab: scrolls vertically, never sideways, and can be hidden.

Its width is counted in characters of the current font, so it grows with the demo mode's large text
instead of cutting its own labels, and every combo box in it elides long entries (a model title,
ImageNet's 1000 class names) rather than widening the column past the window.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QFrame, QScrollArea, QSizePolicy, QWidget

WINDOW_SHARE = 0.25
COMBO_MIN_CHARS = 8  # a combo box is at least this many characters wide and elides what does not fit


def elide_combo(combo: QComboBox, min_chars: int = COMBO_MIN_CHARS) -> None:
    """Size `combo` to its column, not to its longest entry; the open list still shows whole names."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(min_chars)
    policy = combo.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Expanding)
    combo.setSizePolicy(policy)
    combo.view().setTextElideMode(Qt.TextElideMode.ElideMiddle)
    # QComboBox keeps a minimum size hint it computed earlier until its style changes
    QApplication.sendEvent(combo, QEvent(QEvent.Type.StyleChange))


class SideColumn(QScrollArea):
    """A tab's control column: `min_chars` to `max_chars` average characters wide."""

    def __init__(self, content: QWidget, min_chars: int = 34, max_chars: int = 46, parent: QWidget | None = None):
        super().__init__(parent)
        self.min_chars, self.max_chars = min_chars, max_chars
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        for combo in content.findChildren(QComboBox):
            elide_combo(combo)
        self._fit_to_font()
        content.installEventFilter(self)

    def _fit_to_font(self) -> None:
        """Between min_chars and max_chars of the current font, and never narrower than the content needs
        (the column never scrolls sideways, so what does not fit would be cut)."""
        char = self.fontMetrics().averageCharWidth()
        scroll_bar = self.verticalScrollBar().sizeHint().width() + 2
        least = max(self.min_chars * char, self.widget().minimumSizeHint().width()) + scroll_bar
        self.setMinimumWidth(least)
        self.setMaximumWidth(max(self.max_chars * char + scroll_bar, least))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """A quarter of the window, within the column's limits: the splitter starts from this, so a large screen
        gives the settings their full width and a projector gives the pictures the room."""
        hint = super().sizeHint()
        wanted = int(self.window().width() * WINDOW_SHARE)
        return QSize(min(max(wanted, self.minimumWidth()), self.maximumWidth()), hint.height())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_to_font()
            QTimer.singleShot(0, self, self._fit_to_font)  # again once the content took the new font
        super().changeEvent(event)

    def eventFilter(self, watched, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit_to_font()  # rows came or went (an attack's own settings): the content may need more room
        return super().eventFilter(watched, event)

    def content_fits(self) -> bool:
        """Whether the content fits the column's width (nothing cut at the right edge)."""
        return self.widget().minimumSizeHint().width() <= self.viewport().width()
