"""Live per-step plots: loss and margin, true/target probability, L2 and Linf norms.

Curves are created once and updated with setData (width-1 pens, no antialiasing, clip to view,
peak downsampling for long runs), at the GUI's frame rate, never per engine step.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

SERIES = {
    # name: (plot index, legend, colour)
    "loss": (0, "loss", (220, 50, 47)),
    "margin": (0, "margin", (38, 139, 210)),
    "true_prob": (1, "true class", (46, 160, 67)),
    "target_prob": (1, "target", (214, 120, 0)),
    "l2": (2, "L2", (108, 113, 196)),
    "linf_255": (2, "Linf x255", (211, 54, 130)),
}
TITLES = ("Loss and margin", "Probabilities", "Perturbation norms")


def add_step_plots(graphics: pg.GraphicsLayoutWidget, legend_size: str) -> list[pg.PlotItem]:
    """The three per-step plots (TITLES) in one row of `graphics`, set up for fast in-place updates."""
    plots = []
    for i, title in enumerate(TITLES):
        plot = graphics.addPlot(row=0, col=i, title=title)
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setLabel("bottom", "step")
        plot.addLegend(offset=(-4, 4), labelTextSize=legend_size)
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.setMenuEnabled(False)
        plots.append(plot)
    return plots


class MetricPlots(QWidget):
    """Three plots side by side sharing the step axis."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        layout.addWidget(self.graphics)
        self.plots = add_step_plots(self.graphics, legend_size="9pt")
        self.plots[1].setYRange(0, 1, padding=0.02)
        self.zero_line = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((128, 128, 128), style=pg.QtCore.Qt.PenStyle.DashLine))
        self.plots[0].addItem(self.zero_line)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name, (index, legend, colour) in SERIES.items():
            self.curves[name] = self.plots[index].plot([], [], name=legend, pen=pg.mkPen(colour, width=2),
                                                       antialias=False, skipFiniteCheck=True)

    def set_step_range(self, last_step: int) -> None:
        """Fix the step axis for a run: axes that do not move every frame are not re-laid out every frame."""
        for plot in self.plots:
            plot.setXRange(0, max(last_step, 1), padding=0.02)
            plot.disableAutoRange(axis="x")

    def set_series(self, steps: np.ndarray, series: dict[str, np.ndarray]) -> None:
        """Replace every curve's data (names as in SERIES; missing or all-NaN series are hidden).

        A curve joins its finite points: the norms are taken only on steps that had a frame (NaN between).
        """
        for name, curve in self.curves.items():
            values = series.get(name)
            finite = np.isfinite(values) if values is not None else None
            if finite is None or not finite.any():
                curve.setData([], [])
                continue
            if not finite.all():
                steps_shown, values = steps[finite], values[finite]
            else:
                steps_shown = steps
            curve.setData(steps_shown, values, skipFiniteCheck=True)

    def clear(self) -> None:
        for curve in self.curves.values():
            curve.setData([], [])
        for plot in self.plots:
            plot.enableAutoRange(axis="x")

    def point_counts(self) -> dict[str, int]:
        return {name: len(curve.xData) if curve.xData is not None else 0 for name, curve in self.curves.items()}
