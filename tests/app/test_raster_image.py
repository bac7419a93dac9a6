"""The image panes hand Qt their pictures in the raster engine's own format (its direct scaler, one thread),
and draw the same pixels pyqtgraph's own item draws."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage

from advlens.gui import paint_on_the_gui_thread
from advlens.widgets.image_pane import RasterImageItem

pytestmark = pytest.mark.gui


def _drawn(qtbot, item_type, array: np.ndarray, colormap: str | None) -> tuple[np.ndarray, QImage.Format]:
    """The view's pixels with `array` shown 4× (64 px on 256), and the format the item handed Qt."""
    view = pg.GraphicsLayoutWidget()
    qtbot.addWidget(view)
    view.ci.setContentsMargins(0, 0, 0, 0)
    view.resize(256, 256)
    box = view.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
    item = item_type(axisOrder="row-major")
    if colormap:
        item.setColorMap(pg.colormap.get(colormap))
    box.addItem(item)
    item.setImage(array, levels=(0.0, 1.0), autoLevels=False)
    box.setRange(xRange=(0, 64), yRange=(0, 64), padding=0)
    view.show()
    qtbot.waitExposed(view)
    image = view.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine()).copy()
    return pixels, item.qimage.format()


@pytest.mark.parametrize("shape, colormap", [((64, 64, 3), None), ((64, 64), "CET-D1")],
                         ids=["rgb", "colour map"])
def test_the_raster_item_draws_the_same_pixels_in_the_native_format(qtbot, shape, colormap):
    array = np.random.default_rng(0).random(shape, dtype=np.float32)
    ours, ours_format = _drawn(qtbot, RasterImageItem, array, colormap)
    theirs, their_format = _drawn(qtbot, pg.ImageItem, array, colormap)
    assert ours_format == QImage.Format.Format_ARGB32_Premultiplied
    assert their_format != ours_format  # RGB888 or Indexed8: Qt's slow generic path, which this item avoids
    assert ours.std() > 10  # a picture, not an empty view
    assert np.array_equal(ours, theirs)


def test_painting_stays_on_the_gui_thread_unless_the_person_chose(monkeypatch):
    monkeypatch.delenv("QT_NO_GUI_THREADPOOL", raising=False)
    paint_on_the_gui_thread()
    assert os.environ["QT_NO_GUI_THREADPOOL"] == "1"
    monkeypatch.setenv("QT_NO_GUI_THREADPOOL", "their own")
    paint_on_the_gui_thread()
    assert os.environ["QT_NO_GUI_THREADPOOL"] == "their own"
