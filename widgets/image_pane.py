"""An image pane: a title, a picture that keeps its aspect, and a caption (class and confidence).

Items are created once and updated in place with fixed levels (pyqtgraph's fast path). It takes
numpy arrays only: the app converts tensors before they reach a widget.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

DIVERGING_MAP = "CET-D1"  # blue - white - red, symmetric around zero
HEAT_MAP = "inferno"
COLORBAR_WIDTH = 64


class ImagePane(QWidget):
    """Shows an RGB image, or a scalar field through a colour map (optionally with a colour bar)."""

    def __init__(self, title: str, tooltip: str = "", colormap: str | None = None, colorbar: bool = False,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip(tooltip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        self.title = QLabel(title)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setObjectName("paneTitle")
        layout.addWidget(self.title)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumSize(140, 140)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.colorbar: pg.ColorBarItem | None = None
        self._cmap = pg.colormap.get(colormap) if colormap else None
        if self._cmap is not None:
            self.image.setColorMap(self._cmap)
        if colorbar and self._cmap is not None:
            self.colorbar = pg.ColorBarItem(colorMap=self._cmap, interactive=False, width=14)
            self.colorbar.setImageItem(self.image)
            self.colorbar.setFixedWidth(COLORBAR_WIDTH)
            self.graphics.addItem(self.colorbar)
        else:
            # the same column left empty, so every pane shows its picture at the same size
            spacer = pg.GraphicsWidget()
            spacer.setFixedWidth(COLORBAR_WIDTH)
            self.graphics.addItem(spacer)
        layout.addWidget(self.graphics, 1)
        self.caption = QLabel("")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setObjectName("paneCaption")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self._shape: tuple[int, ...] | None = None
        self.current: np.ndarray | None = None

    def _fit_if_new_shape(self, array: np.ndarray) -> None:
        if array.shape[:2] != self._shape:
            self._shape = array.shape[:2]
            self.view.setRange(xRange=(0, array.shape[1]), yRange=(0, array.shape[0]), padding=0)

    def set_rgb(self, array: np.ndarray) -> None:
        """(H, W, 3) float in [0, 1]."""
        self.current = array
        self.image.setImage(np.ascontiguousarray(array, dtype=np.float32), levels=(0.0, 1.0), autoLevels=False)
        self._fit_if_new_shape(array)

    def set_scalar(self, array: np.ndarray, levels: tuple[float, float]) -> None:
        """(H, W) float shown through the pane's colour map with fixed `levels`."""
        self.current = array
        lo, hi = levels
        if hi <= lo:
            hi = lo + 1e-6
        self.image.setImage(np.ascontiguousarray(array, dtype=np.float32), levels=(lo, hi), autoLevels=False)
        if self.colorbar is not None:
            self.colorbar.setLevels((lo, hi))
        self._fit_if_new_shape(array)

    def clear(self) -> None:
        self.current = None
        self.image.clear()
        self.caption.setText("")

    def set_caption(self, text: str, tone: str = "") -> None:
        """Caption under the image; tone 'good', 'bad' or '' colours it."""
        if text != self.caption.text():
            self.caption.setText(text)
        if tone != self.caption.property("tone"):  # re-polishing restyles the label: only when it changes
            self.caption.setProperty("tone", tone)
            self.caption.style().unpolish(self.caption)
            self.caption.style().polish(self.caption)
