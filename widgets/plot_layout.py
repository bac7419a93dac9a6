"""Where a plot's legend and title go, so that neither covers data nor holds the plot wider than its room.

A legend sits in the plot's own layout, above or below the axes (never on the curves), and takes as
many columns as the plot's width allows; entries for curves that have no data are left out (no
"target" in an untargeted run). A title wraps to the plot's width instead of setting its minimum.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

LEGEND_ROWS = {"top": 0, "bottom": 4}  # PlotItem's layout: 0 title, 1 top axis, 2 view, 3 bottom axis


class OutsideLegend:
    """A legend in row 0 (instead of the title) or under the bottom axis of `plot`; `entries` in order."""

    def __init__(self, plot: pg.PlotItem, where: str = "top", label_size: str = "9pt"):
        self.plot = plot
        self.legend = pg.LegendItem(offset=None, labelTextSize=label_size, colCount=1, horSpacing=12)
        self.legend.setParentItem(plot)
        self.legend.setMinimumWidth(10)  # it wraps into more rows instead of holding the plot wide
        self.legend.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.row = LEGEND_ROWS[where]
        if where == "top":
            plot.layout.removeItem(plot.titleLabel)
            plot.titleLabel.hide()
        plot.layout.addItem(self.legend, self.row, 1)
        plot.layout.setAlignment(self.legend, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.entries: list[tuple[object, str]] = []
        self.shown: list[str] = []
        plot.geometryChanged.connect(self.fit)

    def set_entries(self, entries: list[tuple[object, str]]) -> None:
        """Every curve that may be shown and its name, in legend order."""
        self.entries = list(entries)
        self.show_only([name for _item, name in entries])

    def show_only(self, names: list[str]) -> None:
        """Entries for these names only (the others' curves are empty); rebuilt only when the set changes."""
        wanted = [name for _item, name in self.entries if name in names]
        if wanted == self.shown:
            return
        self.legend.clear()
        for item, name in self.entries:
            if name in wanted:
                self.legend.addItem(item, name)
        self.shown = wanted
        self.fit()

    def labels(self) -> list[str]:
        return [label.text for _sample, label in self.legend.items]

    def fit(self) -> None:
        """As many columns as fit the plot's width; the legend's row as tall as its rows."""
        items = self.legend.items
        available = max(self.plot.width() - 20, 40)
        widths = [sample.boundingRect().width() + label.itemRect().width() + 16 for sample, label in items]
        columns = max(len(widths), 1)
        while columns > 1 and sum(sorted(widths, reverse=True)[:columns]) > available:
            columns -= 1
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)
        rows = -(-len(items) // columns) if items else 0
        height = sum(max((label.itemRect().height() for _s, label in items[r * columns:(r + 1) * columns]),
                         default=0) for r in range(rows))
        self.plot.layout.setRowFixedHeight(self.row, height + 2 if items else 0)
        self.plot.layout.invalidate()


def wrap_title(plot: pg.PlotItem, title: str | None = None, size: str | None = None) -> None:
    """The title breaks into lines at the plot's width rather than holding the plot at its own width."""
    label = plot.titleLabel
    if title is not None:
        plot.setTitle(title, **({"size": size} if size else {}))

    def update_min() -> None:  # pyqtgraph sets the title's minimum to its full width; wrap instead
        width = max(plot.width() - 16, 40)
        if label.item.textWidth() != width:
            label.item.setTextWidth(width)
        rect = label.itemRect()
        label.setMinimumWidth(10)
        label.setMinimumHeight(rect.height())
        label._sizeHint = {Qt.SizeHint.MinimumSize: (10, rect.height()),
                           Qt.SizeHint.PreferredSize: (rect.width(), rect.height()),
                           Qt.SizeHint.MaximumSize: (-1, -1), Qt.SizeHint.MinimumDescent: (0, 0)}
        label.updateGeometry()
        if label.isVisible():
            plot.layout.setRowFixedHeight(0, rect.height())

    label.updateMin = update_min
    plot.geometryChanged.connect(update_min)
    update_min()
