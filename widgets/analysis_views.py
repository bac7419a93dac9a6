"""Plots for the Analysis tab. Each takes plain numbers and updates its items in place."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from .plot_layout import OutsideLegend, wrap_title
from .plot_style import follow_style

ATTACK_COLOUR = (214, 39, 40)
GAUSS_COLOUR = (31, 119, 180)
UNIFORM_COLOUR = (44, 160, 44)
IMAGE_COLOUR = (120, 120, 120)


def make_plot(title: str, x: str, y: str, title_size: str | None = None) -> pg.PlotWidget:
    """A titled, gridded plot with axis labels and no SI prefixes (the panels' common plot)."""
    plot = pg.PlotWidget(title=title)
    plot.setLabel("bottom", x)
    plot.setLabel("left", y)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)
    if title_size is not None:
        plot.getPlotItem().titleLabel.setText(title, size=title_size)
    wrap_title(plot.getPlotItem())
    for axis in ("left", "bottom"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
    return plot


class RobustCurveView(QWidget):
    """Robust accuracy against epsilon, one point added as each epsilon finishes."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = make_plot("Robust accuracy vs epsilon", "epsilon", "accuracy")
        self.plot.setYRange(0, 1, padding=0.02)
        self.curve = self.plot.plot([], [], pen=pg.mkPen(ATTACK_COLOUR, width=3), symbol="o", symbolSize=8,
                                    symbolBrush=ATTACK_COLOUR)
        layout.addWidget(self.plot)
        self.points = 0

    def set_curve(self, eps: list[float], accuracy: list[float], unit_label: str, scale: float) -> None:
        self.plot.setLabel("bottom", f"epsilon ({unit_label})")
        self.curve.setData(np.asarray(eps) * scale, np.asarray(accuracy))
        self.points = len(eps)


class HistogramView(QWidget):
    """Distribution of minimal perturbation norms, with the median marked."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = make_plot("Minimal perturbation per image", "norm", "images")
        self.bars = pg.BarGraphItem(x=[], height=[], width=1.0, brush=pg.mkBrush(GAUSS_COLOUR))
        self.plot.addItem(self.bars)
        self.median = pg.InfiniteLine(angle=90, pen=pg.mkPen(ATTACK_COLOUR, width=2),
                                      label="median {value:.3f}",
                                      labelOpts={"position": 0.9, "color": ATTACK_COLOUR, "fill": (255, 255, 255, 200)})
        self.plot.addItem(self.median)
        layout.addWidget(self.plot)
        self.counts = np.zeros(0)

    def set_values(self, values: np.ndarray, norm_label: str, bins: int = 20) -> None:
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        self.plot.setLabel("bottom", norm_label)
        if len(values) == 0:
            self.bars.setOpts(x=[], height=[])
            self.counts = np.zeros(0)
            return
        counts, edges = np.histogram(values, bins=bins)
        self.bars.setOpts(x=(edges[:-1] + edges[1:]) / 2, height=counts, width=(edges[1] - edges[0]) * 0.9)
        self.median.setValue(float(np.median(values)))
        self.counts = counts


class LandscapeView(QWidget):
    """Loss around the image on a plane, with a colour bar; the borders between predicted classes drawn as
    lines, the other classes' cells tinted; the image and its adversarial marked."""

    BOUNDARY_PEN = (255, 255, 255)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = make_plot("Loss landscape (white lines: class boundaries)", "adversarial direction (L2)",
                              "random orthogonal direction (L2)")
        self.plot.setAspectLocked(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        cmap = pg.colormap.get("viridis")
        self.image.setColorMap(cmap)
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(colorMap=cmap, interactive=False, width=14, label="loss")
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.regions = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.regions)
        self.boundaries: list[pg.IsocurveItem] = []
        self.markers = pg.ScatterPlotItem(size=14, pen=pg.mkPen("w", width=2))
        self.plot.addItem(self.markers)
        layout.addWidget(self.plot)
        self.prediction: np.ndarray | None = None

    def set_landscape(self, alphas: np.ndarray, betas: np.ndarray, loss: np.ndarray, prediction: np.ndarray,
                      adversarial_point: tuple[float, float]) -> None:
        x0, x1, y0, y1 = alphas[0], alphas[-1], betas[0], betas[-1]
        dx = (x1 - x0) / max(len(alphas) - 1, 1)
        dy = (y1 - y0) / max(len(betas) - 1, 1)
        rect = (x0 - dx / 2, y0 - dy / 2, x1 - x0 + dx, y1 - y0 + dy)
        levels = (float(loss.min()), float(max(loss.max(), loss.min() + 1e-6)))
        self.image.setImage(loss.astype(np.float32), levels=levels)
        self.image.setRect(*rect)
        self.colorbar.setLevels(levels)
        centre_class = prediction[len(betas) // 2, len(alphas) // 2]
        other = (prediction != centre_class).astype(np.float32)
        lut = np.array([[0, 0, 0, 0], [255, 255, 255, 70]], dtype=np.uint8)  # other classes: a light veil
        self.regions.setImage(other, levels=(0, 1), lut=lut)
        self.regions.setRect(*rect)
        for curve in self.boundaries:
            self.plot.removeItem(curve)
        self.boundaries = []
        # one outline per class present: the class borders, wherever they run
        transform = pg.QtGui.QTransform()
        transform.translate(rect[0], rect[1])
        transform.scale(rect[2] / prediction.shape[1], rect[3] / prediction.shape[0])
        for cls in np.unique(prediction):
            mask = np.pad((prediction == cls).astype(np.float32), 1, mode="edge")
            curve = pg.IsocurveItem(data=mask, level=0.5, pen=pg.mkPen(self.BOUNDARY_PEN, width=2),
                                    axisOrder="row-major")
            step = pg.QtGui.QTransform(transform)
            step.translate(-0.5, -0.5)  # the padding and the iso line's half-cell offset
            curve.setTransform(step)
            self.plot.addItem(curve)
            self.boundaries.append(curve)
        self.markers.setData([{"pos": (0, 0), "brush": pg.mkBrush(46, 160, 67), "symbol": "o"},
                              {"pos": adversarial_point, "brush": pg.mkBrush(214, 39, 40), "symbol": "star"}])
        self.prediction = prediction
        follow_style(self.plot)


class GroupedBarsView(QWidget):
    """Bars in groups (noise vs attack; image vs perturbation frequency bands)."""

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = make_plot(title, "", y_label)
        self.plot.setYRange(0, 1, padding=0.02)
        self.outside = OutsideLegend(self.plot.getPlotItem(), "bottom")
        self.legend = self.outside.legend
        layout.addWidget(self.plot)
        self.items: list[pg.BarGraphItem] = []
        self.values: dict[str, list[float]] = {}

    def set_groups(self, categories: list[str], series: dict[str, tuple[list[float], tuple[int, int, int]]]) -> None:
        for item in self.items:
            self.plot.removeItem(item)
        self.items = []
        entries = []
        width = 0.8 / max(len(series), 1)
        for k, (name, (values, colour)) in enumerate(series.items()):
            x = np.arange(len(values)) - 0.4 + width * (k + 0.5)
            item = pg.BarGraphItem(x=x, height=values, width=width * 0.95, brush=pg.mkBrush(colour))
            self.plot.addItem(item)
            entries.append((item, name))
            self.items.append(item)
        self.outside.set_entries(entries)
        self.plot.getAxis("bottom").setTicks([list(enumerate(categories))])
        follow_style(self.plot)
        self.values = {name: list(v) for name, (v, _) in series.items()}


class TransferTableView(QTableWidget):
    """Rows: model the attack was made on; columns: model evaluated; cells: share fooled."""

    def set_table(self, models: list[str], success: list[list[float]]) -> None:
        self.setRowCount(len(models))
        self.setColumnCount(len(models))
        self.setHorizontalHeaderLabels([f"on {m}" for m in models])
        self.setVerticalHeaderLabels([f"made on {m}" for m in models])
        for i, row in enumerate(success):
            for j, value in enumerate(row):
                self.setItem(i, j, QTableWidgetItem("—" if value != value else f"{value:.0%}"))
        self.resizeColumnsToContents()
