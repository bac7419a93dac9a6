"""An image pane: a title, a picture that keeps its aspect, and a caption (class and confidence).

Items are created once and updated in place with fixed levels (pyqtgraph's fast path). It takes
numpy arrays only: the app converts tensors before they reach a widget. The mouse wheel zooms and a drag
pans (panes linked with `link_panes` move together); the pixel under the pointer is announced by
`hovered` so the window can read out every pane's value there; a double click shows the whole image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QImage
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QVBoxLayout, QWidget

from .fit_label import FitLabel
from .live_text import LiveLabel
from .plot_style import DEFAULT_TEXT_PT, cache_axes, scaled

DIVERGING_MAP = "CET-D1"  # blue - white - red, symmetric around zero
HEAT_MAP = "inferno"
COLORBAR_BAR_WIDTH = 10
PANE_MIN_SIDE = 90


class RasterImageItem(pg.ImageItem):
    """An ImageItem whose picture is handed to Qt in the raster engine's own pixel format.

    Why: pyqtgraph makes an RGB888 image for colours and an Indexed8 one for a colour map, and Qt has no
    direct scaler for those: every paint fetched and converted each screen pixel through its generic
    path, split over Qt's thread pool, the GUI thread waiting on the workers. Converted once per new
    picture (4,096 pixels at 64 px), the paint takes Qt's nearest-neighbour ARGB32 scaler on one thread
    (measured offscreen, 64 px shown at 300 px: 0.47-0.58 → 0.15-0.22 ms of CPU per paint, all threads;
    at 224 px shown at 800 px, 2.4 → 0.8 ms). It drew the same pixels at 64 px on 256 and on 300; at 224 px
    on 800, 0.09% of them differ (an image pixel's edge rounded one screen pixel over).
    """

    def render(self) -> None:
        super().render()
        native = QImage.Format.Format_ARGB32_Premultiplied
        if self.qimage is not None and self.qimage.format() != native:
            self.qimage = self.qimage.convertToFormat(native)


class ImagePane(QWidget):
    """Shows an RGB image, or a scalar field through a colour map with a colour bar that names its unit.

    Every pane keeps a colour-bar row under its picture, invisible where there is no colour map, so all
    panes show their pictures at the same size.
    """

    hovered = Signal(int, int)  # pixel column, row under the pointer; (-1, -1) when it leaves the picture
    viewReset = Signal()

    def __init__(self, title: str, tooltip: str = "", colormap: str | None = None, colorbar: bool = False,
                 unit: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setToolTip(tooltip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        title_row = QHBoxLayout()
        title_row.setContentsMargins(0, 0, 0, 0)
        self.title = FitLabel(title)  # drawn smaller, then elided, rather than holding the pane wide
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setObjectName("paneTitle")
        title_row.addWidget(self.title, 1)
        self.title_row = title_row
        layout.addLayout(title_row)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumSize(PANE_MIN_SIDE, PANE_MIN_SIDE)
        self.graphics.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=True)
        self.view.setMenuEnabled(False)
        self.view.setMouseMode(pg.ViewBox.PanMode)
        self.image = RasterImageItem(axisOrder="row-major")
        self.view.addItem(self.image)
        self.marker = pg.QtWidgets.QGraphicsRectItem(0, 0, 1, 1)  # the pixel read out, in every linked pane
        marker_pen = pg.mkPen((0, 200, 255), width=2)
        marker_pen.setCosmetic(True)
        self.marker.setPen(marker_pen)
        self.marker.setZValue(10)
        self.marker.hide()
        self.view.addItem(self.marker)
        self._cmap = pg.colormap.get(colormap) if colormap else None
        if self._cmap is not None:
            self.image.setColorMap(self._cmap)
        self.unit = unit
        self._unit_choices: tuple[str, ...] = (unit,)
        self.colorbar = pg.ColorBarItem(colorMap=self._cmap or pg.colormap.get("CET-L1"), interactive=False,
                                        width=COLORBAR_BAR_WIDTH, label=unit or " ", orientation="horizontal")
        self.colorbar.axis.enableAutoSIPrefix(False)
        self.has_colorbar = bool(colorbar and self._cmap is not None)
        if self.has_colorbar:
            self.colorbar.setImageItem(self.image)
        self.graphics.addItem(self.colorbar, row=1, col=0)
        self.show_colorbar(self.has_colorbar)
        self._fit_colorbar()
        cache_axes(self.graphics)
        self._levels: tuple[float, float] | None = None
        layout.addWidget(self.graphics, 1)
        self.caption = LiveLabel("", lines=2, wrap=True)  # changes during a run without re-laying out the pane
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setObjectName("paneCaption")
        layout.addWidget(self.caption)
        self._fit_title_row()
        self._shape: tuple[int, ...] | None = None
        self.current: np.ndarray | None = None
        self.zoomed = False  # a person zoomed or panned: resizes keep their view; a double click ends it
        self.view.sigRangeChangedManually.connect(lambda _mask: setattr(self, "zoomed", True))
        self.view.sigResized.connect(lambda _view: None if self.zoomed else self.reset_view())
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.graphics.viewport().installEventFilter(self)

    # ------------------------------------------------------------------ colour bar
    def show_colorbar(self, shown: bool) -> None:
        """Shown or kept as an invisible column (the picture keeps its size either way)."""
        self.colorbar.setOpacity(1.0 if shown else 0.0)
        self.colorbar_shown = shown

    def set_unit(self, unit: str | Sequence[str]) -> None:
        """The colour bar's unit: one text, or several from the fullest to the shortest, of which the bar
        shows the fullest that fits its width at the current font (the fullest is always the tooltip), so
        the unit is never clipped, whatever the font size (full-screen demo mode) or pane width."""
        choices = (unit,) if isinstance(unit, str) else tuple(unit)
        if choices != self._unit_choices:
            self._unit_choices = choices
            self.colorbar.setToolTip(choices[0] if choices and choices[0] else "")
            self._fit_unit()

    def _unit_room(self) -> float:
        return max(float(self.graphics.width()) - 8.0, 10.0)

    def _fit_unit(self) -> None:
        """Shows the fullest unit text that fits the bar's width; the shortest, elided, if none does."""
        choices = self._unit_choices or ("",)
        axis, room = self.colorbar.axis, self._unit_room()
        for text in choices:
            self._show_unit(text)
            if axis.label.boundingRect().width() <= room:
                return
        metrics = QFontMetricsF(axis.label.font())
        shortest = choices[-1]
        while len(shortest) > 1 and axis.label.boundingRect().width() > room:
            shortest = metrics.elidedText(shortest, Qt.TextElideMode.ElideRight, metrics.horizontalAdvance(shortest) - 4)
            self._show_unit(shortest)

    def _show_unit(self, text: str) -> None:
        axis = self.colorbar.axis
        if text != self.unit or not axis.labelText:
            self.unit = text
            axis.setLabel(text or " ", **axis.labelStyle)
        # pyqtgraph centres an axis label only when the axis resizes: a longer text set later would start
        # where the short one did and run off the bar's end (the clipped "Δ (/255) · full at")
        axis.resizeEvent()

    @property
    def unit_shown(self) -> str:
        """The unit text the colour bar shows now (one of those given to `set_unit`, or it elided)."""
        return self.unit

    def _fit_colorbar(self) -> None:
        """The colour bar (under the picture) as tall as its bar, tick labels and unit at the plots' text size."""
        font = QFont(self.font())
        font.setPointSizeF(scaled(DEFAULT_TEXT_PT))
        line = QFontMetricsF(font).height()
        bar_height = scaled(COLORBAR_BAR_WIDTH)
        bar = self.colorbar
        bar.layout.setRowFixedHeight(2, bar_height)
        bar.axis.setHeight(int(line * 2.4 + 4))
        bar.setFixedHeight(int(bar_height + line * 2.4 + 10))

    def _fit_title_row(self) -> None:
        """One title height (room for a small button) for the title and its buttons; with every caption holding
        two lines (LiveLabel), the panes of a row keep equal pictures."""
        height = max(self.title.sizeHint().height(), self.title.fontMetrics().height() + 10)
        for i in range(self.title_row.count()):
            widget = self.title_row.itemAt(i).widget()
            if widget is not None:
                height = max(height, widget.minimumSizeHint().height())
        for i in range(self.title_row.count()):
            widget = self.title_row.itemAt(i).widget()
            if widget is not None:
                widget.setFixedHeight(height)

    def add_title_button(self, button: QWidget) -> None:
        """A small control at the right of the title (the perturbation pane's view menu)."""
        self.title_row.addWidget(button)
        self._fit_title_row()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            QTimer.singleShot(0, self, self._fit_colorbar)  # after the plots took the new sizes
            QTimer.singleShot(0, self, self._fit_unit)  # the unit's text took the plots' new size too
            QTimer.singleShot(0, self, self._fit_title_row)  # after the style sheet sized the labels
        super().changeEvent(event)

    # ------------------------------------------------------------------ data in
    def _fit_if_new_shape(self, array: np.ndarray) -> None:
        if array.shape[:2] != self._shape:
            self._shape = array.shape[:2]
            height, width = self._shape
            self.view.setLimits(minXRange=min(4, width), minYRange=min(4, height), maxXRange=4 * width,
                                maxYRange=4 * height)
            self.reset_view()

    def reset_view(self) -> None:
        """The whole picture (after zooming in)."""
        self.zoomed = False
        if self._shape is not None:
            self.view.setRange(xRange=(0, self._shape[1]), yRange=(0, self._shape[0]), padding=0)

    def set_rgb(self, array: np.ndarray) -> None:
        """(H, W, 3) float in [0, 1]."""
        self.current = array
        if self._cmap is not None:
            self.image.setLookupTable(None)  # a scalar pane showing colours (the amplified-RGB perturbation)
        self.image.setImage(np.ascontiguousarray(array, dtype=np.float32), levels=(0.0, 1.0), autoLevels=False)
        self._fit_if_new_shape(array)

    def set_scalar(self, array: np.ndarray, levels: tuple[float, float]) -> None:
        """(H, W) float shown through the pane's colour map with fixed `levels`."""
        self.current = array
        lo, hi = levels
        if hi <= lo:
            hi = lo + 1e-6
        self.image.setImage(np.ascontiguousarray(array, dtype=np.float32), levels=(lo, hi), autoLevels=False)
        if self._cmap is not None:
            self.image.setColorMap(self._cmap)
        if self.has_colorbar and (lo, hi) != self._levels:  # the bar's axis is redrawn only when they move
            self.colorbar.setLevels((lo, hi))
            self._levels = (lo, hi)
        self._fit_if_new_shape(array)

    def clear(self) -> None:
        self.current = None
        self.image.clear()
        self.caption.setText("")
        self.marker.hide()

    def set_caption(self, text: str, tone: str = "") -> None:
        """Caption under the image; tone 'good', 'bad' or '' colours it."""
        if text != self.caption.text():
            self.caption.setText(text)
        if tone != self.caption.property("tone"):  # re-polishing restyles the label: only when it changes
            self.caption.setProperty("tone", tone)
            self.caption.style().unpolish(self.caption)
            self.caption.style().polish(self.caption)

    # ------------------------------------------------------------------ pointer
    def value_at(self, column: int, row: int) -> np.ndarray | float | None:
        """What the pane shows at a pixel: an RGB triple or a scalar, or None off the picture."""
        if self.current is None or not (0 <= row < self.current.shape[0] and 0 <= column < self.current.shape[1]):
            return None
        value = self.current[row, column]
        return np.asarray(value) if np.ndim(value) else float(value)

    def pixel_at(self, scene_pos: QPointF) -> tuple[int, int]:
        if self.current is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return -1, -1
        point = self.view.mapSceneToView(scene_pos)
        column, row = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= row < self.current.shape[0] and 0 <= column < self.current.shape[1]:
            return column, row
        return -1, -1

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        self.hovered.emit(*self.pixel_at(scene_pos))

    def eventFilter(self, watched, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Resize and len(self._unit_choices) > 1:
            self._fit_unit()
        elif event.type() == QEvent.Type.Leave:
            self.hovered.emit(-1, -1)
        elif event.type() == QEvent.Type.MouseButtonDblClick:
            self.reset_view()
            self.viewReset.emit()
            return True
        return False

    def mark_pixel(self, column: int, row: int) -> None:
        """Outline one pixel (the one read out), or none with (-1, -1)."""
        if column < 0 or self.current is None:
            self.marker.hide()
            return
        self.marker.setRect(QRectF(column, row, 1, 1))
        self.marker.show()


def link_panes(panes: list[ImagePane]) -> None:
    """Zoom and pan together; the pixel under the pointer in one is outlined in all.

    The range a person sets in one pane is copied to the others (pyqtgraph's own axis links fight the
    locked aspect ratio when both axes are linked).
    """

    def follow(source: ImagePane) -> None:
        rect = source.view.viewRect()
        for pane in panes:
            if pane is not source:
                pane.view.setRange(rect=rect, padding=0)

    for pane in panes:
        pane.view.sigRangeChangedManually.connect(lambda _mask, p=pane: follow(p))
        pane.hovered.connect(lambda c, r: [p.mark_pixel(c, r) for p in panes])
        pane.viewReset.connect(lambda: [p.reset_view() for p in panes])
