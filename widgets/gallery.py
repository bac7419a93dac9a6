"""A strip of sample thumbnails; choosing one emits its key."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QListView, QListWidget, QListWidgetItem, QWidget


def pixmap_from_array(array: np.ndarray) -> QPixmap:
    """QPixmap from (H, W, 3) uint8."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    h, w, _ = array.shape
    image = QImage(array.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class SampleGallery(QListWidget):
    """Thumbnails in one row; a click picks the sample."""

    chosen = Signal(str)

    def __init__(self, thumb: int = 56, parent: QWidget | None = None):
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(thumb, thumb))
        self.setMovement(QListView.Movement.Static)
        self.setFixedHeight(thumb + 34)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setToolTip("Bundled sample images: click one to attack it.")
        self.itemClicked.connect(lambda item: self.chosen.emit(item.data(Qt.ItemDataRole.UserRole)))

    def set_items(self, items: list[tuple[str, str, np.ndarray]]) -> None:
        """(key, caption, thumbnail (H, W, 3) uint8) per sample."""
        self.clear()
        for key, caption, thumb in items:
            item = QListWidgetItem(QIcon(pixmap_from_array(thumb)), caption)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setToolTip(key)
            self.addItem(item)

    def select_key(self, key: str) -> None:
        for i in range(self.count()):
            item = self.item(i)
            item.setSelected(item.data(Qt.ItemDataRole.UserRole) == key)
