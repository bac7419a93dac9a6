"""The Resolution lab tab: settings, log-log plots with fitted slopes and reference lines, a table,
the perturbation at every resolution shown at one display size, and the outcome in words."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
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

from .image_pane import DIVERGING_MAP
from .plot_layout import OutsideLegend, wrap_title
from .plot_style import follow_style
from .side_column import SideColumn
from .task_progress import TaskProgress

REFERENCE_COLOURS = [(31, 119, 180), (44, 160, 44), (148, 103, 189), (140, 86, 75), (23, 190, 207)]
L2_METRICS = (("l2", "raw L2"), ("rel_l2", "relative L2"), ("rms", "RMS"),
              ("first_order_l2", "first-order L2 estimate"), ("grad_l1", "mean ‖∂L/∂x‖₁"),
              ("grad_l2", "mean ‖∂L/∂x‖₂"), ("margin_grad_l1", "‖∂margin/∂x‖₁"),
              ("margin_grad_l2", "‖∂margin/∂x‖₂"))


def reference_groups(references: dict[str, float]) -> list[tuple[float, list[str]]]:
    """Readings grouped by the slope they predict, steepest first: readings that agree on a metric (Dube A and
    Simon-Gabriel on every norm) share one line and one legend entry instead of hiding each other."""
    groups: dict[float, list[str]] = {}
    for name, slope in references.items():
        groups.setdefault(float(slope), []).append(name)
    return sorted(groups.items(), key=lambda item: -item[0])


def log_ticks(values: list[float] | np.ndarray, low: float, high: float) -> list[tuple[float, str]]:
    """Ticks for a log axis labelled in plain numbers: decades, and 2 and 5 between them when few decades show."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 or high <= 0:
        return []
    first, last = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))
    steps = (1, 2, 5) if last - first <= 3 else (1,)
    ticks = [m * 10.0**e for e in range(first, last + 1) for m in steps]
    return [(float(np.log10(v)), f"{v:g}") for v in ticks if low / 1.5 <= v <= high * 1.5]


class LogLogPlot(QWidget):
    """Per-image points, medians, means, the fitted line and the readings' reference lines.

    The legend sits under the plot (never on the points); the x axis is labelled with the side lengths
    measured (16, 32, 64 …), the y axis with plain numbers.
    """

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(title=title)
        wrap_title(self.plot.getPlotItem())
        self.plot.setLogMode(True, True)
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setLabel("bottom", "side s (px)")  # short: four plots share a 1024-px projector's width
        self.plot.getAxis("bottom").setToolTip("s: the image's side length in pixels; it has n = 3·s² values")
        self.plot.setMenuEnabled(False)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)  # the ticks are plain numbers, never scaled
        self.outside = OutsideLegend(self.plot.getPlotItem(), "auto")  # below or beside: more data area
        self.legend = self.outside.legend
        self.points = pg.ScatterPlotItem(size=5, brush=pg.mkBrush(150, 150, 150, 120), pen=None)
        self.median = self.plot.plot([], [], pen=pg.mkPen((214, 39, 40), width=3), symbol="o", symbolSize=8,
                                     symbolBrush=(214, 39, 40))
        self.mean = self.plot.plot([], [], pen=pg.mkPen((255, 127, 14), width=2, style=Qt.PenStyle.DashLine))
        # drawn in the theme's ink (black on light, light grey on dark), so a theme switch recolours it
        self.fit = self.plot.plot([], [], pen=pg.mkPen(pg.getConfigOption("foreground"), width=2))
        self.plot.addItem(self.points)
        self.references: list[pg.PlotDataItem] = []
        self._names: dict[int, str] = {}
        layout.addWidget(self.plot)
        self.medians = np.zeros(0)
        self.reference_labels: list[str] = []  # one per line drawn: readings that predict the same slope share it

    def _update_legend(self) -> None:
        entries = [(self.median, "median"), (self.mean, "mean"), (self.fit, "fit"), (self.points, "per image")]
        entries += [(item, self._names[id(item)]) for item in self.references]
        self.outside.set_entries(entries)
        drawn = {"per image"} if len(self.points.data) else set()
        for item, name in entries:
            if isinstance(item, pg.PlotDataItem) and item.xData is not None and len(item.xData):
                drawn.add(name)
        self.outside.show_only([name for _item, name in entries if name in drawn])

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
        self.references = []
        self.reference_labels = []
        self._names = {}
        shown_y = list(ys) + list(med[ok]) + list(mean[okm])
        if ok.any():
            s0, y0 = sizes_arr[ok][0], med[ok][0]
            for k, (slope, names) in enumerate(reference_groups(references)):
                colour = REFERENCE_COLOURS[k % len(REFERENCE_COLOURS)]
                label = f"{', '.join(names)}: {slope:+g}"
                values = y0 * (sizes_arr / s0) ** slope
                item = self.plot.plot(sizes_arr, values, pen=pg.mkPen(colour, width=2, style=Qt.PenStyle.DotLine))
                self.references.append(item)
                self.reference_labels.append(label)
                self._names[id(item)] = label
                shown_y += list(values)
        self.plot.setToolTip("Dotted: the slope each reading of the claim predicts, drawn from the first median —\n"
                             + "\n".join(f"{name}: {slope:+g}" for name, slope in references.items()))
        self.plot.getAxis("bottom").setTicks([[(float(np.log10(s)), f"{s:g}") for s in sizes if s > 0]] or None)
        positive = [v for v in shown_y if np.isfinite(v) and v > 0]
        self.plot.getAxis("left").setTicks([log_ticks(positive, min(positive), max(positive))] if positive else None)
        self._update_legend()
        follow_style(self.plot)


class PerturbationStrip(pg.GraphicsLayoutWidget):
    """The same image's minimal perturbation at every resolution, all drawn at one display size."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(70)
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
        follow_style(self)


class ResolutionPanel(QWidget):
    runRequested = Signal(dict)
    cancelRequested = Signal()
    exportRequested = Signal(str)  # csv | png | json
    metricChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QHBoxLayout(self)
        left_widget = QWidget()
        left = QVBoxLayout(left_widget)
        left.setContentsMargins(0, 0, 0, 0)
        box = QGroupBox("Resolution lab (Dube)")
        form = QFormLayout(box)
        self.images = QComboBox()
        self.images.setEditable(True)
        self.images.addItems(["demo:32", "demo:64", "demo:16"])
        self.images.setToolTip("demo:N held-out scenes drawn natively at each size, sample:NAME, or a folder path.")
        form.addRow("Images", self.images)
        self.resolutions = QLineEdit("16,24,32,48,64,96,128")
        self.resolutions.setToolTip("Side lengths to measure, comma separated (the model must accept each).")
        form.addRow("Resolutions", self.resolutions)
        self.attack = QComboBox()
        for name, title in (("fmn", "FMN"), ("deepfool", "DeepFool"), ("pgd-bisect", "PGD + bisection")):
            self.attack.addItem(title, name)
        self.attack.setToolTip("The near-minimal attack that finds each image's smallest perturbation.")
        form.addRow("Attack", self.attack)
        self.steps = QSpinBox()
        self.steps.setRange(5, 5000)
        self.steps.setValue(100)
        self.steps.setToolTip("Iterations of the attack per image and norm.")
        form.addRow("Steps", self.steps)
        self.condition = QComboBox()
        self.condition.addItem("native (finer samplings)", "native")
        self.condition.addItem("nearest-upsampled (control)", "nearest-upsampled")
        self.condition.setToolTip("Native: the same scene sampled more finely. Nearest-upsampled: the smallest "
                                  "image blown up, adding no detail — a control.")
        form.addRow("Condition", self.condition)
        self.models = QComboBox()
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
        self.left_metric = QComboBox()
        for key, title in L2_METRICS:
            self.left_metric.addItem(title, key)
        self.left_metric.setToolTip("What the left plot shows (from the L2 attack, or the input gradient).")
        self.left_metric.currentIndexChanged.connect(lambda _i: self.metricChanged.emit())
        form.addRow("Left plot", self.left_metric)
        left.addStretch(1)
        self.side = SideColumn(left_widget, min_chars=30, max_chars=42)
        outer.addWidget(self.side, 0)

        right = QVBoxLayout()
        outer.addLayout(right, 1)
        self.verdict = QLabel("Run the lab: the joint verdict over raw L2, Linf and ‖∂margin/∂x‖₁ appears here.")
        self.verdict.setObjectName("banner")  # the one sentence that answers the question, always in view
        self.verdict.setStyleSheet("font-size: 13pt;")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict.setToolTip("Which group of readings (SCIENCE.md) the slopes of raw L2, Linf and the logit "
                                "gap's gradient L1 norm support together: a reading is supported when every slope "
                                "it predicts lies inside its 95% interval.")
        right.addWidget(self.verdict)
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
        self.table.setMinimumHeight(70)
        split.addWidget(self.table)
        strip_box = QWidget()  # in the splitter too, so that on a small screen the plots keep the room
        strip_layout = QVBoxLayout(strip_box)
        strip_layout.setContentsMargins(0, 0, 0, 0)
        strip_title = QLabel("Minimal L2 perturbation of one image at each resolution, all shown at the same size "
                             "(channel mean; blue lowers, red raises):")
        strip_title.setWordWrap(True)
        strip_title.setMinimumWidth(10)
        strip_layout.addWidget(strip_title)
        self.strip = PerturbationStrip()
        strip_layout.addWidget(self.strip, 1)
        split.addWidget(strip_box)
        for index, stretch in enumerate((1, 4, 1, 1)):
            split.setStretchFactor(index, stretch)
        split.setSizes([110, 470, 130, 170])
        right.addWidget(split, 1)

    def options(self) -> dict:
        return {"images": self.images.currentText().strip(), "resolutions": self.resolutions.text(),
                "attack": self.attack.currentData(), "steps": self.steps.value(),
                "condition": self.condition.currentData(), "models": self.models.currentData()}

    def settings(self) -> dict:
        """`options()` and the left plot's metric: everything a saved session keeps of this tab."""
        return self.options() | {"left_metric": self.left_metric.currentData()}

    def set_options(self, options: dict) -> None:
        """Show saved settings (the keys of `settings()`); keys that are absent keep what is shown."""
        if "images" in options:
            self.images.setCurrentText(str(options["images"]))
        if "resolutions" in options:
            self.resolutions.setText(str(options["resolutions"]))
        if "steps" in options:
            self.steps.setValue(int(options["steps"]))
        for combo, key in ((self.attack, "attack"), (self.condition, "condition"), (self.models, "models"),
                           (self.left_metric, "left_metric")):
            index = combo.findData(options.get(key))
            if index >= 0:
                combo.setCurrentIndex(index)

    def set_busy(self, busy: bool) -> None:
        self.run.setEnabled(not busy)
        self.task.set_busy(busy)

    def set_progress(self, done: int, total: int, eta: float | None) -> None:
        self.task.set_progress(done, total, eta)

    def set_verdict(self, text: str, tone: str = "") -> None:
        """The joint verdict (plain text) in the banner; `tone` 'bad' marks a warning (e.g. no convergence)."""
        self.verdict.setText(text)
        self.verdict.setProperty("tone", tone)
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)

    def set_table(self, headers: list[str], rows: list[list[str]]) -> None:
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels(headers)
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                self.table.setItem(i, j, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
