"""Where a plot's legend and title go, so that neither covers data nor holds the plot wider than its room.

A legend sits in the plot's own layout, above or below the axes (never on the curves), and takes as
many columns as the plot's width allows; entries for curves that have no data are left out (no
"target" in an untargeted run). A title wraps to the plot's width instead of setting its minimum.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import QSizePolicy

LEGEND_CELLS = {"top": (0, 1), "bottom": (4, 1), "right": (2, 3)}  # PlotItem's layout: 0 title, 1 top axis,
# 2 left axis | view | right axis, 3 bottom axis


class OutsideLegend:
    """A legend in the plot's own layout: in place of the title ('top'), under the bottom axis ('bottom'), or,
    with 'auto', under the plot or right of it, whichever leaves the larger data area; `entries` in order."""

    def __init__(self, plot: pg.PlotItem, where: str = "top", label_size: str = "9pt"):
        self.plot = plot
        self.where = where
        self.legend = pg.LegendItem(offset=None, labelTextSize=label_size, colCount=1, horSpacing=12)
        self.legend.setParentItem(plot)
        self.legend.setMinimumWidth(10)  # it wraps into more rows instead of holding the plot wide
        self.legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        if where == "top":
            plot.layout.removeItem(plot.titleLabel)
            plot.titleLabel.hide()
        self.cell: tuple[int, int] | None = None
        self._place("bottom" if where == "auto" else where)
        self.entries: list[tuple[object, str]] = []
        self.shown: list[tuple[int, str]] = []
        self._fitting = False
        plot.geometryChanged.connect(self.fit)

    def _place(self, where: str) -> None:
        cell = LEGEND_CELLS[where]
        if cell == self.cell:
            return
        layout = self.plot.layout
        if self.cell is not None:
            layout.removeItem(self.legend)
            row, col = self.cell
            if row == 4:
                layout.setRowFixedHeight(4, 0)
            if col == 3:
                layout.setColumnFixedWidth(3, 0)
        layout.addItem(self.legend, *cell)
        layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignLeft | (
            Qt.AlignmentFlag.AlignTop if where == "right" else Qt.AlignmentFlag.AlignVCenter))
        self.cell = cell

    def set_entries(self, entries: list[tuple[object, str]]) -> None:
        """Every curve that may be shown and its name, in legend order."""
        self.entries = list(entries)
        self.shown = []  # the items may be new ones under old names
        self.show_only([name for _item, name in entries])

    def show_only(self, names: list[str]) -> None:
        """Entries for these names only (the others' curves are empty); rebuilt only when the set changes."""
        wanted = [(id(item), name) for item, name in self.entries if name in names]
        if wanted == self.shown:
            return
        self.legend.clear()
        for item, name in self.entries:
            if name in names:
                self.legend.addItem(item, name)
        self.shown = wanted
        self.fit()

    def labels(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    def _columns_for(self, available: float) -> float:
        """Fit the legend into `available` px of width with as many columns as go; returns its height."""
        columns = max(len(self.legend.items), 1)
        while True:
            if columns != self.legend.columnCount:
                self.legend.setColumnCount(columns)
            hint = self.legend.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
            if columns == 1 or hint.width() <= available:
                return hint.height()
            columns -= 1

    def fit(self) -> None:
        """Columns for the width there is; with 'auto', below or beside the plot, whichever leaves more data area."""
        if self._fitting:
            return
        self._fitting = True
        try:
            items = self.legend.items
            layout = self.plot.layout
            width = self.plot.width()
            if self.where == "auto" and items:
                # the data area without the legend, then with it below or beside
                view = self.plot.vb.size()
                free_w = view.width() + (layout.columnMaximumWidth(3) if self.cell == LEGEND_CELLS["right"] else 0)
                free_h = view.height() + (layout.rowMaximumHeight(4) if self.cell == LEGEND_CELLS["bottom"] else 0)
                below = self._columns_for(max(width - 16, 40))
                self.legend.setColumnCount(1)
                side = self.legend.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
                beside_area = max(free_w - side.width(), 0) * free_h
                below_area = free_w * max(free_h - below, 0)
                fits_beside = side.height() <= self.plot.height() - 10
                self._place("right" if fits_beside and beside_area > below_area else "bottom")
            if self.cell == LEGEND_CELLS["right"]:
                self.legend.setColumnCount(1)
                preferred = self.legend.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
                layout.setColumnFixedWidth(3, preferred.width() if items else 0)
                self.legend.setMaximumWidth(max(preferred.width(), 10))
                return
            self._columns_for(max(width - 16, 40))
            preferred = self.legend.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
            self.legend.setMaximumWidth(max(preferred.width(), 10))  # entries side by side, not spread out
            layout.setRowFixedHeight(self.cell[0], preferred.height() if items else 0)
            layout.invalidate()
        finally:
            self._fitting = False


def wrap_title(plot: pg.PlotItem, title: str | None = None, size: str | None = None) -> None:
    """The title breaks into lines at the plot's width rather than holding the plot at its own width."""
    label = plot.titleLabel
    if title is not None:
        plot.setTitle(title, **({"size": size} if size else {}))

    def update_min() -> None:  # pyqtgraph sets the title's minimum to its full width; wrap instead
        axes = sum(plot.getAxis(side).width() for side in ("left", "right") if plot.getAxis(side).isVisible())
        width = max(plot.width() - axes - 8, 40)  # the title spans the data column only
        if label.item.textWidth() != width:
            label.item.setTextWidth(width)
            label.item.document().setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignHCenter))
            label.setText(label.text)  # the new option applies to text set from now on
        rect = label.itemRect()
        label.setMinimumWidth(10)
        label.setMinimumHeight(rect.height())
        label._sizeHint = {Qt.SizeHint.MinimumSize: (10, rect.height()),
                           Qt.SizeHint.PreferredSize: (rect.width(), rect.height()),
                           Qt.SizeHint.MaximumSize: (-1, -1), Qt.SizeHint.MinimumDescent: (0, 0)}
        label.updateGeometry()
        if label.isVisible():
            label.setMaximumHeight(rect.height())  # PlotItem.setTitle caps the title at 30 px: one line
            plot.layout.setRowFixedHeight(0, rect.height())
            plot.layout.invalidate()

    label.updateMin = update_min
    plot.geometryChanged.connect(update_min)
    update_min()
