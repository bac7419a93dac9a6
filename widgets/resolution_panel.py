"""The Resolution lab tab: settings, log-log plots with fitted slopes and reference lines, a table,
the perturbation at every resolution shown at one display size, and the outcome in words."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .combo import ElidedComboBox
from .image_pane import DIVERGING_MAP
from .task_progress import TaskProgress

REFERENCE_COLOURS = [(31, 119, 180), (44, 160, 44), (148, 103, 189), (140, 86, 75)]
L2_METRICS = (("l2", "raw L2"), ("rel_l2", "relative L2"), ("rms", "RMS"),
              ("first_order_l2", "first-order L2 estimate"), ("grad_l1", "mean ‖∂L/∂x‖₁"),
              ("grad_l2", "mean ‖∂L/∂x‖₂"))


class LogLogPlot(QWidget):
    """Per-image points, medians, means, the fitted line and the readings' reference lines."""

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(title=title)
        self.plot.setLogMode(True, True)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setLabel("bottom", "side length s (px); n = 3·s² values")
        self.plot.setMenuEnabled(False)
        self.legend = self.plot.addLegend(offset=(-10, -10), labelTextSize="9pt")
        self.points = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(150, 150, 150, 120), pen=None)
        self.median = self.plot.plot([], [], pen=pg.mkPen((214, 39, 40), width=3), symbol="o", symbolSize=8,
                                     symbolBrush=(214, 39, 40), name="median")
        self.mean = self.plot.plot([], [], pen=pg.mkPen((255, 127, 14), width=2, style=Qt.PenStyle.DashLine),
                                   name="mean")
        self.fit = self.plot.plot([], [], pen=pg.mkPen((20, 20, 20), width=2), name="fit")
        self.plot.addItem(self.points)
        self.legend.addItem(self.points, "per image")
        self.references: list[pg.PlotDataItem] = []
        layout.addWidget(self.plot)
        self.medians = np.zeros(0)

    def set_data(self, sizes: list[int], table: np.ndarray, medians: list[float], means: list[float],
                 fit: tuple[float, float] | None, references: dict[str, float], y_label: str) -> None:
        self.plot.setLabel("left", y_label)
        sizes_arr = np.asarray(sizes, float)
        xs, ys = [], []
        for j, s in enumerate(sizes):
            col = table[:, j] if table.size else np.zeros(0)
            col = col[np.isfinite(col) & (col > 0)]
            xs += [s] * len(col)
            ys += list(col)
        self.points.setData(np.log10(xs) if xs else [], np.log10(ys) if ys else [])
        med = np.asarray(medians, float)
        ok = np.isfinite(med) & (med > 0)
        self.median.setData(sizes_arr[ok], med[ok])
        mean = np.asarray(means, float)
        okm = np.isfinite(mean) & (mean > 0)
        self.mean.setData(sizes_arr[okm], mean[okm])
        self.medians = med
        if fit is not None and all(np.isfinite(fit)):
            slope, intercept = fit
            self.fit.setData(sizes_arr, np.exp(intercept) * sizes_arr**slope)
        else:
            self.fit.setData([], [])
        for item in self.references:
            self.plot.removeItem(item)
            self.legend.removeItem(item)
        self.references = []
        if ok.any():
            s0, y0 = sizes_arr[ok][0], med[ok][0]
            for k, (name, slope) in enumerate(references.items()):
                colour = REFERENCE_COLOURS[k % len(REFERENCE_COLOURS)]
                item = self.plot.plot(sizes_arr, y0 * (sizes_arr / s0) ** slope,
                                      pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DotLine),
                                      name=f"{name}: {slope:+g}")
                self.references.append(item)


class PerturbationStrip(pg.GraphicsLayoutWidget):
    """The same image's minimal perturbation at every resolution, all drawn at one display size."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFixedHeight(150)
        self.cmap = pg.colormap.get(DIVERGING_MAP)
        self.shown: list[int] = []

    def set_perturbations(self, items: list[tuple[int, np.ndarray]]) -> None:
        self.clear()
        self.shown = []
        for col, (size, delta) in enumerate(items):
            view = self.addViewBox(row=0, col=col, lockAspect=True, invertY=True, enableMouse=False)
            field = delta.mean(axis=0)
            peak = max(float(np.abs(field).max()), 1e-9)
            image = pg.ImageItem(field.astype(np.float32), axisOrder="row-major", levels=(-peak, peak))
            image.setColorMap(self.cmap)
            image.setRect(0, 0, 1, 1)  # every resolution fills the same square on screen
            view.addItem(image)
            view.setRange(xRange=(0, 1), yRange=(0, 1), padding=0.02)
            self.addLabel(f"{size} px", row=1, col=col)
            self.shown.append(size)


class ResolutionPanel(QWidget):
    runRequested = Signal(dict)
    cancelRequested = Signal()
    exportRequested = Signal(str)  # csv | png | json
    metricChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        outer.addLayout(left, 0)
        box = QGroupBox("Resolution lab (Dube)")
        form = QFormLayout(box)
        self.images = ElidedComboBox()
        self.images.setEditable(True)
        self.images.addItems(["demo:32", "demo:64", "demo:16"])
        self.images.setToolTip("demo:N held-out scenes drawn natively at each size, sample:NAME, or a folder path.")
        form.addRow("Images", self.images)
        self.resolutions = QLineEdit("16,24,32,48,64,96,128")
        self.resolutions.setToolTip("Side lengths to measure, comma separated (the model must accept each).")
        form.addRow("Resolutions", self.resolutions)
        self.attack = ElidedComboBox()
        for name, title in (("fmn", "FMN"), ("deepfool", "DeepFool"), ("pgd-bisect", "PGD + bisection")):
            self.attack.addItem(title, name)
        self.attack.setToolTip("The near-minimal attack that finds each image's smallest perturbation.")
        form.addRow("Attack", self.attack)
        self.steps = QSpinBox()
        self.steps.setRange(5, 5000)
        self.steps.setValue(100)
        self.steps.setToolTip("Iterations of the attack per image and norm.")
        form.addRow("Steps", self.steps)
        self.condition = ElidedComboBox()
        self.condition.addItem("native (finer samplings)", "native")
        self.condition.addItem("nearest-upsampled (control)", "nearest-upsampled")
        self.condition.setToolTip("Native: the same scene sampled more finely. Nearest-upsampled: the smallest "
                                  "image blown up, adding no detail — a control.")
        form.addRow("Condition", self.condition)
        self.models = ElidedComboBox()
        self.models.addItem("the Explorer's model (one for every size)", "single")
        self.models.addItem("per-resolution control models", "per-resolution")
        self.models.setToolTip("One model: the model open in the Explorer sees every resolution (a multi-resolution "
                               "model, whose receptive field is fixed in pixels). Per-resolution: each size is "
                               "attacked on the bundled model trained only at that size (demo-r16, demo-r32, ...); "
                               "sizes without one are skipped.")
        form.addRow("Model", self.models)
        left.addWidget(box)
        self.run = QPushButton("Run the lab")
        self.run.setToolTip("Measure every image at every resolution; plots fill in as each resolution finishes.")
        self.run.clicked.connect(lambda: self.runRequested.emit(self.options()))
        self.task = TaskProgress("Stop after the batch under way; what finished stays plotted.", "resolution×norm")
        self.task.cancelRequested.connect(self.cancelRequested)
        self.cancel = self.task.cancel
        left.addWidget(self.run)
        left.addWidget(self.task)
        export = QGroupBox("Export")
        elayout = QVBoxLayout(export)
        for kind, title in (("csv", "Measurements (CSV)…"), ("png", "Plots (PNG)…"), ("json", "Result (JSON)…")):
            button = QPushButton(title)
            button.clicked.connect(lambda _c=False, k=kind: self.exportRequested.emit(k))
            elayout.addWidget(button)
        left.addWidget(export)
        self.metric = ElidedComboBox()
        for key, title in L2_METRICS:
            self.metric.addItem(title, key)
        self.metric.setToolTip("What the left plot shows (from the L2 attack, or the input gradient).")
        self.metric.currentIndexChanged.connect(lambda _i: self.metricChanged.emit())
        form.addRow("Left plot", self.metric)
        left.addStretch(1)

        right = QVBoxLayout()
        outer.addLayout(right, 1)
        self.outcome = QLabel("Run the lab to measure how minimal perturbations scale with resolution.")
        self.outcome.setObjectName("labOutcome")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        outcome_area = QScrollArea()  # verdicts and caveats can run long: they scroll, the plots keep their room
        outcome_area.setWidget(self.outcome)
        outcome_area.setWidgetResizable(True)
        outcome_area.setFrameShape(QFrame.Shape.NoFrame)
        plots = QWidget()
        playout = QHBoxLayout(plots)
        playout.setContentsMargins(0, 0, 0, 0)
        self.l2_plot = LogLogPlot("Minimal L2 perturbation vs resolution")
        self.linf_plot = LogLogPlot("Minimal Linf perturbation vs resolution")
        playout.addWidget(self.l2_plot)
        playout.addWidget(self.linf_plot)
        self.plots = plots
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(outcome_area)
        split.addWidget(plots)
        self.table = QTableWidget()
        self.table.setMinimumHeight(120)
        split.addWidget(self.table)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 1)
        split.setSizes([150, 450, 170])
        right.addWidget(split, 1)
        right.addWidget(QLabel("Minimal L2 perturbation of one image at each resolution, all shown at the same size "
                               "(channel mean; blue lowers, red raises):"))
        self.strip = PerturbationStrip()
        right.addWidget(self.strip)

    def options(self) -> dict:
        return {"images": self.images.currentText().strip(), "resolutions": self.resolutions.text(),
                "attack": self.attack.currentData(), "steps": self.steps.value(),
                "condition": self.condition.currentData(), "models": self.models.currentData()}

    def set_busy(self, busy: bool) -> None:
        self.run.setEnabled(not busy)
        self.task.set_busy(busy)

    def set_progress(self, done: int, total: int, eta: float | None) -> None:
        self.task.set_progress(done, total, eta)

    def set_table(self, headers: list[str], rows: list[list[str]]) -> None:
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(headers)
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
