"""Live per-step plots: loss and margin, true/target probability, L2 and Linf norms.

Curves are created once and updated with setData (width-1 pens, no antialiasing, clip to view,
peak downsampling for long runs), at the GUI's frame rate, never per engine step. Legends sit above
the plots and list only the curves that have data; L2 (about 1) and Linf in /255 (about 8 to 33) have
an axis each, in their curve's colour, so neither is flattened to a line by the other's scale.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .plot_layout import OutsideLegend
from .plot_style import cache_axes, scaled

SERIES = {
    # name: (plot index, legend, colour, axis)
    "loss": (0, "loss", (220, 50, 47), "left"),
    "margin": (0, "margin", (38, 139, 210), "left"),
    "true_prob": (1, "true class", (46, 160, 67), "left"),
    "target_prob": (1, "target", (214, 120, 0), "left"),
    "l2": (2, "L2", (108, 113, 196), "left"),
    "linf_255": (2, "Linf (/255)", (211, 54, 130), "right"),
}
# the legends name the curves; the norms' axes say which is which
AXIS_LABELS = {0: ("", None), 1: ("", None), 2: ("L2", "Linf")}  # the unit (/255) is in the legend: a short axis fits


def nice_ceiling(value: float) -> float:
    """The next of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 times a power of ten at or above `value` (1 for none)."""
    if not np.isfinite(value) or value <= 0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * power >= value * 1.02:
            return float(step * power)
    return float(10 * power)


class StepPlots:
    """The three per-step plots in one row of `graphics`, set up for fast in-place updates."""

    def __init__(self, graphics: pg.GraphicsLayoutWidget, legend_size: str = "9pt"):
        self.plots: list[pg.PlotItem] = []
        self.legends: list[OutsideLegend] = []
        for i in range(3):
            plot = graphics.addPlot(row=0, col=i)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.setLabel("bottom", "step")
            if AXIS_LABELS[i][0]:
                plot.setLabel("left", AXIS_LABELS[i][0])
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setMenuEnabled(False)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).enableAutoSIPrefix(False)
            self.plots.append(plot)
            self.legends.append(OutsideLegend(plot, "top", legend_size))
        self.right_view = self._add_right_axis(self.plots[2], AXIS_LABELS[2][1], SERIES["linf_255"][2])
        self.plots[2].getAxis("left").setPen(SERIES["l2"][2])
        self.plots[2].getAxis("left").setTextPen(SERIES["l2"][2])
        self._entries: list[list[tuple[pg.PlotDataItem, str]]] = [[], [], []]

    @staticmethod
    def _add_right_axis(plot: pg.PlotItem, label: str, colour) -> pg.ViewBox:
        """A second y axis on the right with its own view, sharing the plot's step axis."""
        view = pg.ViewBox()
        view.setMenuEnabled(False)
        view.setMouseEnabled(False, False)
        plot.showAxis("right")
        plot.scene().addItem(view)
        axis = plot.getAxis("right")
        axis.linkToView(view)
        axis.setLabel(label)
        axis.setPen(colour)
        axis.setTextPen(colour)
        axis.enableAutoSIPrefix(False)
        view.setXLink(plot)

        def follow() -> None:
            view.setGeometry(plot.vb.sceneBoundingRect())
            view.linkedViewChanged(plot.vb, view.XAxis)

        plot.vb.sigResized.connect(follow)
        follow()
        return view

    def add_curve(self, name: str, label: str | None = None, **style) -> pg.PlotDataItem:
        """A curve for series `name` in its plot and on its axis; `label` names it in the legend."""
        index, legend, _colour, axis = SERIES[name]
        if axis == "right":
            curve = pg.PlotDataItem([], [], **style)
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
            self.right_view.addItem(curve)
        else:
            curve = self.plots[index].plot([], [], **style)
        self._entries[index].append((curve, label or legend))
        self.legends[index].set_entries(self._entries[index])
        return curve

    def show_legend_for(self, present: set[str]) -> None:
        """Legend entries only for the curves drawn (by legend name)."""
        for legend in self.legends:
            legend.show_only([name for _c, name in legend.entries if name in present])


def add_step_plots(graphics: pg.GraphicsLayoutWidget, legend_size: str) -> StepPlots:
    """The three per-step plots (loss and margin, probabilities, norms) in one row of `graphics`."""
    return StepPlots(graphics, legend_size)


class MetricPlots(QWidget):
    """Three plots side by side sharing the step axis."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.graphics = pg.GraphicsLayoutWidget()
        layout.addWidget(self.graphics)
        self.step_plots = add_step_plots(self.graphics, legend_size="9pt")
        self.plots = self.step_plots.plots
        self.plots[1].setYRange(0, 1, padding=0.02)
        self.zero_line = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((128, 128, 128), style=pg.QtCore.Qt.PenStyle.DashLine))
        self.plots[0].addItem(self.zero_line)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name, (_index, _legend, colour, _axis) in SERIES.items():
            self.curves[name] = self.step_plots.add_curve(name, pen=pg.mkPen(colour, width=2), antialias=False,
                                                          skipFiniteCheck=True)
        self.step_plots.show_legend_for(set())
        cache_axes(self.graphics)
        self._norm_tops: dict[str, float] = {}
        self._fit_height()

    def _fit_height(self) -> None:
        """Room for a legend line, the axes and a readable curve at the plots' current text size."""
        self.graphics.setMinimumHeight(int(scaled(120)))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.FontChange:
            QTimer.singleShot(0, self, self._fit_height)
        super().changeEvent(event)

    @property
    def legends(self) -> list[pg.LegendItem]:
        return [legend.legend for legend in self.step_plots.legends]

    def legend_labels(self) -> list[str]:
        return [name for legend in self.step_plots.legends for name in legend.labels()]

    def set_step_range(self, last_step: int) -> None:
        """Fix the step axis for a run: axes that do not move every frame are not re-laid out every frame."""
        for plot in self.plots:
            plot.setXRange(0, max(last_step, 1), padding=0.02)
            plot.disableAutoRange(axis="x")

    def set_series(self, steps: np.ndarray, series: dict[str, np.ndarray]) -> None:
        """Replace every curve's data (names as in SERIES; missing or all-NaN series are hidden, and so are
        their legend entries). A curve joins its finite points: the norms are taken only on steps that had a
        frame (NaN between). The norm axes start at 0 and grow in round steps, so they rarely re-lay out."""
        for name, view in (("l2", self.plots[2]), ("linf_255", self.step_plots.right_view)):
            values = series.get(name)
            top = nice_ceiling(float(np.nanmax(values))) if values is not None and np.isfinite(values).any() else 1.0
            if top != self._norm_tops.get(name):
                view.setYRange(0, top, padding=0)
                self._norm_tops[name] = top
        present = set()
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
            present.add(SERIES[name][1])
        self.step_plots.show_legend_for(present)

    def clear(self) -> None:
        self._norm_tops = {}
        for curve in self.curves.values():
            curve.setData([], [])
        self.step_plots.show_legend_for(set())
        for plot in self.plots:
            plot.enableAutoRange(axis="x")

    def point_counts(self) -> dict[str, int]:
        return {name: len(curve.xData) if curve.xData is not None else 0 for name, curve in self.curves.items()}
