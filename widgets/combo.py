"""A combo box that never widens its column: long entries are elided in the box, shown whole in the list.

Qt sizes a QComboBox to its longest entry by default; with ImageNet's class names or a long model file name
that pushes a whole control column past its scroll area. This box asks for room for a few characters only,
draws its current text elided to the width it actually got (with the whole text as its tooltip), and
opens a list wide enough for the longest entry.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStylePainter, QWidget


class ElidedComboBox(QComboBox):
    """A QComboBox whose width does not depend on its entries (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None, min_chars: int = 10):
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(min_chars)
        self._tooltip = ""
        self.currentTextChanged.connect(self._show_whole_text)

    def setToolTip(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._tooltip = text
        self._show_whole_text(self.currentText())

    def _show_whole_text(self, text: str) -> None:
        """The tooltip says what the control is for and, while the box cuts its entry, the whole entry."""
        cut = bool(text) and self.displayed_text() != text
        super().setToolTip("\n\n".join(t for t in ((text if cut else ""), self._tooltip) if t))

    def displayed_text(self) -> str:
        """The current entry as the box draws it: elided on the right to the width of its text field."""
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        field = self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                            QStyle.SubControl.SC_ComboBoxEditField, self)
        width = field.width() - (self.iconSize().width() + 4 if not self.itemIcon(self.currentIndex()).isNull() else 0)
        return self.fontMetrics().elidedText(self.currentText(), Qt.TextElideMode.ElideRight, max(width, 0))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        if not self.isEditable():
            option.currentText = self.displayed_text()
            painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._show_whole_text(self.currentText())

    def showPopup(self) -> None:  # noqa: N802 (Qt's name)
        """The list is as wide as its longest entry (at least the box), so every name can be read there."""
        view = self.view()
        longest = max((self.fontMetrics().horizontalAdvance(self.itemText(i)) for i in range(self.count())), default=0)
        view.setMinimumWidth(max(self.width(), longest + view.verticalScrollBar().sizeHint().width() + 24))
        super().showPopup()
