"""A folder of images as a grid of thumbnails that appear as they are decoded, visible ones first.

The list model holds file names only; a thumbnail is asked for (`thumbnailsWanted`) the first time the
view paints its item, so a folder of thousands of files opens at once and only what is seen is decoded.
Decoding happens elsewhere (the app's thumbnail loader); this widget just shows what it is given.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListView, QStyle, QWidget

from advlens.widgets.gallery import pixmap_from_array

PATH_ROLE = Qt.ItemDataRole.UserRole


class ThumbnailListModel(QAbstractListModel):
    """File names, thumbnails as they arrive, and an error message for files that cannot be read."""

    thumbnailsWanted = Signal(list)  # rows painted without a thumbnail yet, batched per event-loop turn

    def __init__(self, thumb: int, placeholder: QIcon, broken: QIcon, parent=None):
        super().__init__(parent)
        self._paths: list[str] = []
        self._names: list[str] = []
        self._icons: dict[int, QIcon] = {}
        self._errors: dict[int, str] = {}
        self._asked: set[int] = set()
        self._to_ask: list[int] = []
        self._placeholder = placeholder
        self._broken = broken
        self.thumb = thumb

    def set_files(self, files: list[tuple[str, str]]) -> None:
        """(path, caption) per file, in display order."""
        self.beginResetModel()
        self._paths = [path for path, _ in files]
        self._names = [name for _, name in files]
        self._icons.clear()
        self._errors.clear()
        self._asked.clear()
        self._to_ask.clear()
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._paths)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self._paths):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._names[row]
        if role == Qt.ItemDataRole.DecorationRole:
            if row in self._icons:
                return self._icons[row]
            if row in self._errors:
                return self._broken
            self._want(row)
            return self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._errors.get(row, self._paths[row])  # an error message names its file
        if role == PATH_ROLE:
            return self._paths[row]
        return None

    def _want(self, row: int) -> None:
        if row in self._asked:
            return
        self._asked.add(row)
        if not self._to_ask:
            QTimer.singleShot(0, self._flush_wanted)
        self._to_ask.append(row)

    def _flush_wanted(self) -> None:
        rows, self._to_ask = self._to_ask, []
        if rows:
            self.thumbnailsWanted.emit(rows)

    def set_thumbnails(self, results: list[tuple[int, np.ndarray | None, str]]) -> None:
        """(row, (H, W, 3) uint8 or None, error message) per decoded file."""
        changed = []
        for row, array, error in results:
            if not 0 <= row < len(self._paths):
                continue
            if array is None:
                self._errors[row] = error
            else:
                self._icons[row] = QIcon(pixmap_from_array(array))
            changed.append(row)
        if changed:
            self.dataChanged.emit(self.index(min(changed)), self.index(max(changed)),
                                  [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole])

    def path(self, row: int) -> str:
        return self._paths[row]

    @property
    def loaded_count(self) -> int:
        return len(self._icons)

    @property
    def failed_count(self) -> int:
        return len(self._errors)

    @property
    def asked_count(self) -> int:
        return len(self._asked)

    def has_thumbnail(self, row: int) -> bool:
        return row in self._icons or row in self._errors


class FolderGallery(QListView):
    """Thumbnail grid of a folder; a click picks the image (emits its path)."""

    chosen = Signal(str)

    def __init__(self, thumb: int = 96, parent: QWidget | None = None):
        super().__init__(parent)
        placeholder = QPixmap(thumb, thumb)
        placeholder.fill(QColor(128, 128, 128, 60))
        broken = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self.list_model = ThumbnailListModel(thumb, QIcon(placeholder), broken, self)
        self.setModel(self.list_model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # layout never asks every item for its size
        self.setIconSize(QSize(thumb, thumb))
        self.setGridSize(QSize(thumb + 24, thumb + 30))
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setToolTip("Images in the folder: click one to attack it. Thumbnails load as they come into view.")
        self.clicked.connect(lambda index: self.chosen.emit(self.list_model.path(index.row())))

    def set_files(self, files: list[tuple[str, str]]) -> None:
        self.list_model.set_files(files)
        self.scrollToTop()
