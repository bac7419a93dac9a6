"""Recolour plots that already exist, so a theme change applies without rebuilding any view."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QWidget


def restyle_plots(root: QWidget, background: tuple[int, int, int], foreground: tuple[int, int, int]) -> int:
    """Background, axes, titles, legends and text items of every pyqtgraph view under `root`.

    Returns how many views were recoloured. Data items keep their own colours.
    """
    views = root.findChildren(pg.GraphicsView)
    for view in views:
        view.setBackground(background)
        for item in view.scene().items():
            if isinstance(item, pg.AxisItem):
                item.setPen(foreground)
                item.setTextPen(foreground)
            elif isinstance(item, pg.PlotItem) and item.titleLabel.text:
                item.setTitle(item.titleLabel.text, color=foreground)
            elif isinstance(item, pg.LegendItem):
                item.setLabelTextColor(foreground)
            elif isinstance(item, pg.TextItem):
                item.setColor(foreground)
    return len(views)
