"""Image panes in one row, or in two rows when the room is tall and narrow: whichever shows larger pictures.

A 1024×768 projector with the controls shown leaves a wide, low strip (one row); a portrait screen or a
tall window with the controls hidden gives room for two rows of two.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QGridLayout, QWidget

from .image_pane import ImagePane

HYSTERESIS = 1.1  # switch only when the other arrangement shows pictures this much larger


class PaneGrid(QWidget):
    def __init__(self, panes: list[ImagePane], parent: QWidget | None = None):
        super().__init__(parent)
        self.panes = panes
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.columns = 0
        self._arrange(len(panes))

    def _arrange(self, columns: int) -> None:
        if columns == self.columns:
            return
        self.columns = columns
        for pane in self.panes:
            self.grid.removeWidget(pane)
        rows = -(-len(self.panes) // columns)
        for i, pane in enumerate(self.panes):
            self.grid.addWidget(pane, i // columns, i % columns)
        for c in range(len(self.panes)):
            self.grid.setColumnStretch(c, 1 if c < columns else 0)
        for r in range(len(self.panes)):
            self.grid.setRowStretch(r, 1 if r < rows else 0)

    def picture_side(self, columns: int, size: QSize) -> float:
        """The side of each picture if the panes were laid out in `columns` columns at `size`."""
        rows = -(-len(self.panes) // columns)
        pane = self.panes[0]
        extra_w = 8
        extra_h = pane.title.sizeHint().height() + pane.colorbar.height() + pane.caption.sizeHint().height() + 10
        spacing = self.grid.spacing()
        width = (size.width() - spacing * (columns - 1)) / columns - extra_w
        height = (size.height() - spacing * (rows - 1)) / rows - extra_h
        return min(width, height)

    def best_columns(self, size: QSize) -> int:
        n = len(self.panes)
        choices = [n, n // 2] if n % 2 == 0 and n > 2 else [n]
        current = self.columns if self.columns in choices else choices[0]
        best = max(choices, key=lambda c: self.picture_side(c, size))
        if best != current and self.picture_side(best, size) < self.picture_side(current, size) * HYSTERESIS:
            return current
        return best

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._arrange(self.best_columns(event.size()))
        super().resizeEvent(event)
