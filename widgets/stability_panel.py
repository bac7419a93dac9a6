"""The Stability lab tab: settings on the left; live training curves, accuracy and instability ratio
against K, d or n, the runs by class and a table on the right. Takes plain numbers only."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .analysis_views import make_plot
from .banner import BannerArea
from .plot_layout import OutsideLegend
from .plot_style import follow_style
from .side_column import SideColumn
from .task_progress import TaskProgress

KIND_COLOURS = {"fixed": (214, 39, 40), "zigzag": (44, 160, 44), "nearest": (31, 119, 180), "wide": (255, 127, 14)}
KIND_NAMES = {"fixed": "fixed MLP (median)", "zigzag": "zigzag, 2(K−1) units", "nearest": "1-NN max-net",
              "wide": "widened MLP (4K, √n)"}
SEED_COLOURS = [(214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34)]
REFERENCE_COLOUR = (110, 110, 110)
CLASS_STYLES = {"accurate & stable": ((44, 160, 44), "o"), "accurate & unstable": ((214, 39, 40), "t"),
                "inaccurate": ((127, 127, 127), "s")}
RHO_TICKS = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000, 10000]


def _plot(title: str, x: str, y: str) -> pg.PlotWidget:
    return make_plot(title, x, y, title_size="11pt")


def _fit_column(combo: QComboBox) -> None:
    """Let a combo box with long item texts shrink to the controls column (the popup still shows them whole),
    so the column needs no horizontal scroll bar."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(5)


def _shown(xs: list[float], ys: list[float]) -> np.ndarray:
    """Which points a log plot can show: positive and finite (inf rho = never fooled is left out)."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    return np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)


def _finite(xs: list[float], ys: list[float]) -> tuple[np.ndarray, np.ndarray]:
    keep = _shown(xs, ys)
    return np.asarray(xs, dtype=float)[keep], np.asarray(ys, dtype=float)[keep]


class StabilityPanel(QWidget):
    """Controls and views of the Stability lab; the presenter fills it with plain lists."""

    runRequested = Signal(dict)
    cancelRequested = Signal()
    axisChanged = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QHBoxLayout(self)
        outer.addWidget(self._build_controls(), 0)
        outer.addWidget(self._build_views(), 1)

    # ---------------------------------------------------------------------------------------- controls
    def _build_controls(self) -> QWidget:
        box = QWidget()
        left = QVBoxLayout(box)
        left.setContentsMargins(0, 0, 0, 0)

        problem = QGroupBox("Problem: K stripes in [0,1]^d")
        form = QFormLayout(problem)
        self.stripes = QLineEdit("2,4,8,16,32,64")
        self.stripes.setToolTip("Numbers of stripes K (label = floor(K·x1) mod 2): a comma list or a power-of-two "
                                "range such as 2:64. Every point is at least δ = 0.1/K from a stripe edge.")
        form.addRow("Stripes K", self.stripes)
        self.dims = QLineEdit("2,32,256")
        self.dims.setToolTip("Input dimensions d: a comma list or a range such as 2:1024. Only x1 decides the "
                             "class; the other coordinates are noise the network must learn to ignore.")
        form.addRow("Dimensions d", self.dims)
        self.train_points = QSpinBox()
        self.train_points.setRange(10, 100_000)
        self.train_points.setValue(2000)
        self.train_points.setToolTip("Training points per setting (also the 1-NN network's width).")
        form.addRow("Training points", self.train_points)
        self.test_points = QSpinBox()
        self.test_points.setRange(10, 100_000)
        self.test_points.setValue(1000)
        self.test_points.setToolTip("Fresh test points per setting: accuracy is measured on these, never on the "
                                    "training points.")
        form.addRow("Test points", self.test_points)
        self.sweep = QComboBox()
        self.sweep.addItem("stripes K (the inaccurate branch)", "stripes")
        self.sweep.addItem("training points n (accurate but unstable?)", "points")
        self.sweep.setToolTip("Sweep K at the training points above, or sweep the training-set size n at one K "
                              "the fixed net learns: the paper's distinctive branch is accurate yet unstable.")
        form.addRow(QLabel("Sweep"))  # the choice spans the column: its texts name the branch each sweep tests
        form.addRow(self.sweep)
        self.point_counts = QLineEdit("100,300,1000,3000,10000,20000")
        self.point_counts.setToolTip("Training-set sizes n of the points sweep (a comma list).")
        form.addRow("Sizes n", self.point_counts)
        self.points_stripes = QSpinBox()
        self.points_stripes.setRange(2, 4096)
        self.points_stripes.setValue(4)
        self.points_stripes.setToolTip("K of the points sweep: one the fixed net learns (≥ 95% held-out accuracy).")
        form.addRow("K (n sweep)", self.points_stripes)
        left.addWidget(problem)

        nets = QGroupBox("Fixed architecture (Adam)")
        nform = QFormLayout(nets)
        self.width_box = QSpinBox()
        self.width_box.setRange(1, 1024)
        self.width_box.setValue(16)
        self.width_box.setToolTip("Width of every hidden layer: the same for every K and d.")
        nform.addRow("Width", self.width_box)
        self.depth_box = QSpinBox()
        self.depth_box.setRange(1, 6)
        self.depth_box.setValue(2)
        self.depth_box.setToolTip("Hidden layers: the same for every K and d. The widened MLP has this depth and "
                              "width max(width, 4K).")
        nform.addRow("Depth", self.depth_box)
        self.seeds = QSpinBox()
        self.seeds.setRange(1, 20)
        self.seeds.setValue(3)
        self.seeds.setToolTip("Trainings of the fixed architecture per setting, each from its own seed "
                              "(the randomised-training view counts how many end accurate and stable).")
        nform.addRow("Seeds", self.seeds)
        self.steps = QSpinBox()
        self.steps.setRange(10, 100_000)
        self.steps.setSingleStep(100)
        self.steps.setValue(2000)
        self.steps.setToolTip("Adam steps per training (mini-batches of 256).")
        nform.addRow("Adam steps", self.steps)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(4)
        self.learning_rate.setRange(0.0001, 1.0)
        self.learning_rate.setSingleStep(0.001)
        self.learning_rate.setValue(0.01)
        self.learning_rate.setToolTip("Adam's learning rate.")
        nform.addRow("Learning rate", self.learning_rate)
        self.norm = QComboBox()
        self.norm.addItem("L2", "l2")
        self.norm.addItem("Linf", "linf")
        self.norm.setToolTip("Norm of the headline ratio ρ = median distance to a class change / δ. Both norms "
                             "are always measured; the table shows the other too.")
        nform.addRow("ρ norm", self.norm)
        left.addWidget(nets)

        run = QGroupBox("Run")
        rlayout = QVBoxLayout(run)
        self.run_button = QPushButton("Run the experiment")
        self.run_button.setToolTip("Train and measure every network at every (K, d); plots fill in as it goes.")
        self.run_button.clicked.connect(lambda: self.runRequested.emit(self.options()))
        rlayout.addWidget(self.run_button)
        self.task = TaskProgress("Stop after the piece of work under way; finished settings stay.", "work units")
        self.task.cancelRequested.connect(self.cancelRequested)
        self.cancel_button = self.task.cancel
        rlayout.addWidget(self.task)
        self.stage = QLabel("")
        self.stage.setWordWrap(True)
        rlayout.addWidget(self.stage)
        left.addWidget(run)

        view = QGroupBox("Plot against")
        vform = QFormLayout(view)
        self.x_axis = QComboBox()
        self.x_axis.addItem("stripes K", "stripes")
        self.x_axis.addItem("dimension d", "dim")
        self.x_axis.addItem("training points n", "train_points")
        self.x_axis.setToolTip("The swept parameter on the x axis of the sweep plots.")
        _fit_column(self.x_axis)
        vform.addRow("x axis", self.x_axis)
        self.fixed_value = QComboBox()
        self.fixed_value.setToolTip("The value of the other parameter for the curves shown.")
        vform.addRow("at", self.fixed_value)
        self.x_axis.currentIndexChanged.connect(lambda _i: self.axisChanged.emit())
        self.fixed_value.currentIndexChanged.connect(lambda _i: self.axisChanged.emit())
        left.addWidget(view)
        left.addStretch(1)

        self.side = SideColumn(box, min_chars=30, max_chars=38)
        return self.side

    # ---------------------------------------------------------------------------------------- views
    def _build_views(self) -> QWidget:
        right = QWidget()
        layout = QVBoxLayout(right)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel("Fixed ReLU architecture vs networks that grow with the problem: press Run.")
        self.summary.setObjectName("banner")
        self.summary.setProperty("long", True)  # a few sentences: the theme draws it smaller than a one-liner
        self.summary.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(BannerArea(self.summary, max_lines=2))  # the rest scrolls: the plots keep the room

        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        self.loss_plot = _plot("Training loss (live)", "Adam step", "logistic loss")
        self.train_plot = _plot("Accuracy while training (live)", "Adam step", "accuracy")
        self.train_plot.setYRange(0.4, 1.0, padding=0.02)
        self.train_outside = OutsideLegend(self.train_plot.getPlotItem(), "top")  # in place of the title
        self.train_legend = self.train_outside.legend
        self.good_plot = _plot("Fixed MLP runs by class", "K", "runs")
        self.good_plot.setLogMode(x=True)
        self.accuracy_plot = _plot("Test accuracy (held-out points)", "K", "accuracy")
        self.accuracy_plot.setLogMode(x=True)
        self.accuracy_plot.setYRange(0.4, 1.0, padding=0.02)
        self.rho_plot = _plot("Instability ratio ρ = median distance / margin δ", "K", "ρ")
        self.rho_plot.setLogMode(x=True, y=True)
        grid.addWidget(self.loss_plot, 0, 0)
        grid.addWidget(self.train_plot, 0, 1)
        grid.addWidget(self.good_plot, 0, 2)
        grid.addWidget(self.accuracy_plot, 1, 0, 1, 1)
        grid.addWidget(self.rho_plot, 1, 1, 1, 2)
        self.legend = QLabel(self._legend_html())
        self.legend.setToolTip("The same colours and symbols in every sweep plot.")
        self.legend.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.legend.setWordWrap(True)
        grid.addWidget(self.legend, 2, 0, 1, 3)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)

        self.accuracy_curves: dict[str, pg.PlotDataItem] = {}
        self.rho_curves: dict[str, pg.PlotDataItem] = {}
        for kind, colour in KIND_COLOURS.items():
            width = 4 if kind == "fixed" else 3
            symbol = {"fixed": "o", "zigzag": "s", "nearest": "t", "wide": "d"}[kind]
            style = dict(pen=pg.mkPen(colour, width=width), symbol=symbol, symbolSize=10, symbolBrush=colour,
                         )
            self.accuracy_curves[kind] = self.accuracy_plot.plot([], [], **style)
            self.rho_curves[kind] = self.rho_plot.plot([], [], **style)
        seed_style = dict(pen=None, symbol="o", symbolSize=6, symbolBrush=(214, 39, 40, 110), symbolPen=None)
        self.accuracy_seeds = self.accuracy_plot.plot([], [], **seed_style)
        self.rho_seeds = self.rho_plot.plot([], [], **seed_style)
        self.truth_curve = self.rho_plot.plot([], [], pen=pg.mkPen(REFERENCE_COLOUR, width=2, style=Qt.PenStyle.DotLine))
        self.rho_one = pg.InfiniteLine(pos=0.0, angle=0,  # mid grey: reads on the light and the dark theme
                                       pen=pg.mkPen((128, 128, 128), width=2, style=Qt.PenStyle.DashLine),
                                       label="ρ = 1: distance = data margin",
                                       labelOpts={"position": 0.15, "color": (128, 128, 128)})
        self.rho_plot.addItem(self.rho_one)
        self.class_curves: dict[str, pg.PlotDataItem] = {}
        self.class_legend = self.good_plot.addLegend(offset=(-10, 10), labelTextSize="9pt")
        for name, (colour, symbol) in CLASS_STYLES.items():
            self.class_curves[name] = self.good_plot.plot([], [], pen=pg.mkPen(colour, width=3), symbol=symbol,
                                                          symbolSize=9, symbolBrush=colour, name=name)
        self.loss_curves: list[pg.PlotDataItem] = []
        self.train_curves: list[pg.PlotDataItem] = []

        tabs = QTabWidget()
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        tabs.addTab(self.table, "Table")
        self.notes = QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        notes_scroll = QScrollArea()
        notes_scroll.setWidget(self.notes)
        notes_scroll.setWidgetResizable(True)
        tabs.addTab(notes_scroll, "What is measured, and how it differs from the paper")
        self.lower_tabs = tabs

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(grid_widget)
        split.addWidget(tabs)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([620, 150])
        layout.addWidget(split, 1)
        return right

    @staticmethod
    def _legend_html() -> str:
        """One legend for the three sweep plots, outside them, so it never hides a curve."""
        def hex_colour(rgb: tuple[int, ...]) -> str:
            return "#" + "".join(f"{c:02x}" for c in rgb[:3])

        symbols = {"fixed": "●", "zigzag": "■", "nearest": "▼", "wide": "◆"}
        items = [f'<span style="color:{hex_colour(KIND_COLOURS[k])}; font-size:x-large">━{symbols[k]}━</span> '
                 f"{KIND_NAMES[k]}" for k in KIND_COLOURS]
        items.append(f'<span style="color:{hex_colour((214, 39, 40))}; font-size:large">•</span> each seed')
        items.append(f'<span style="color:{hex_colour(REFERENCE_COLOUR)}; font-size:large">┄┄</span> '
                     "true stripe classifier")
        items.append('<span style="font-size:large">○</span> hollow: acc &lt; 95%')
        return '<span>' + " &nbsp;&nbsp; ".join(items) + "</span>"

    # ---------------------------------------------------------------------------------------- inputs
    def options(self) -> dict:
        return {
            "stripes": self.stripes.text(), "dims": self.dims.text(), "train_points": self.train_points.value(),
            "test_points": self.test_points.value(), "width": self.width_box.value(), "depth": self.depth_box.value(),
            "seeds": self.seeds.value(), "train_steps": self.steps.value(),
            "learning_rate": self.learning_rate.value(), "norm": self.norm.currentData(),
            "sweep": self.sweep.currentData(), "point_counts": self.point_counts.text(),
            "points_stripes": self.points_stripes.value(),
        }

    def set_options(self, options: dict) -> None:
        """Show saved settings (the keys of `options()`); keys that are absent keep what is shown."""
        for edit, key in ((self.stripes, "stripes"), (self.dims, "dims"), (self.point_counts, "point_counts")):
            if key in options:
                edit.setText(str(options[key]))
        for box, key in ((self.train_points, "train_points"), (self.test_points, "test_points"),
                         (self.width_box, "width"), (self.depth_box, "depth"), (self.seeds, "seeds"),
                         (self.steps, "train_steps"), (self.points_stripes, "points_stripes")):
            if key in options:
                box.setValue(int(options[key]))
        if "learning_rate" in options:
            self.learning_rate.setValue(float(options["learning_rate"]))
        for combo, key in ((self.norm, "norm"), (self.sweep, "sweep")):
            index = combo.findData(options.get(key))
            if index >= 0:
                combo.setCurrentIndex(index)

    def axis(self) -> tuple[str, int | None]:
        """('stripes' or 'dim', the value of the other parameter or None)."""
        return self.x_axis.currentData(), self.fixed_value.currentData()

    def set_axis(self, name: str) -> None:
        """Put `name` ('stripes', 'dim' or 'train_points') on the x axis of the sweep plots."""
        index = self.x_axis.findData(name)
        if index >= 0:
            self.x_axis.setCurrentIndex(index)

    def set_axis_values(self, values: list[int], label: str) -> None:
        """The values offered for the parameter that is held fixed (keeps the current one if it is there)."""
        current = self.fixed_value.currentData()
        self.fixed_value.blockSignals(True)
        self.fixed_value.clear()
        for v in values:
            self.fixed_value.addItem(f"{label} = {v}", v)
        index = self.fixed_value.findData(current)
        self.fixed_value.setCurrentIndex(index if index >= 0 else 0)
        self.fixed_value.blockSignals(False)

    # ---------------------------------------------------------------------------------------- outputs
    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.task.set_busy(busy)

    def set_progress(self, done: int, total: int, eta: float | None, stage: str) -> None:
        self.task.set_progress(done, total, eta)
        self.stage.setText(stage)

    def set_training(self, title: str, steps: list[int], members: list[str], loss: list[list[float]],
                     train_accuracy: list[list[float]], test_accuracy: list[list[float]]) -> None:
        """The training under way: one loss line per member; accuracy held-out (solid) and training (dashed)."""
        if self.loss_plot.getPlotItem().titleLabel.text != f"Live: {title}":
            self.loss_plot.getPlotItem().titleLabel.setText(f"Live: {title}", size="11pt")
            follow_style(self.loss_plot)
        while len(self.loss_curves) < len(members):
            colour = SEED_COLOURS[len(self.loss_curves) % len(SEED_COLOURS)]
            self.loss_curves.append(self.loss_plot.plot([], [], pen=pg.mkPen(colour, width=2)))
            self.train_curves.append(self.train_plot.plot([], [], pen=pg.mkPen(colour, width=3)))
            self.train_curves.append(self.train_plot.plot([], [], pen=pg.mkPen(colour, width=1,
                                                                               style=Qt.PenStyle.DashLine)))
        x = np.asarray(steps, dtype=float)
        entries = []
        for i, curve in enumerate(self.loss_curves):
            if i < len(members):
                curve.setData(x, np.asarray(loss[i], dtype=float))
                self.train_curves[2 * i].setData(x, np.asarray(test_accuracy[i], dtype=float))
                self.train_curves[2 * i + 1].setData(x, np.asarray(train_accuracy[i], dtype=float))
                entries.append((self.train_curves[2 * i], f"{members[i]} (held-out)"))
            else:
                curve.setData([], [])
                self.train_curves[2 * i].setData([], [])
                self.train_curves[2 * i + 1].setData([], [])
        if members:
            entries.append((self.train_curves[1], "training (dashed)"))
        if [name for _c, name in entries] != [name for _c, name in self.train_outside.entries]:
            self.train_outside.set_entries(entries)
            follow_style(self.train_plot)

    def set_sweep(self, x_label: str, xs: list[float], accuracy: dict[str, list[float]], rho: dict[str, list[float]],
                  seed_points: tuple[list[float], list[float], list[float]], truth_rho: list[float],
                  rho_label: str, accurate: dict[str, list[bool]] | None = None) -> None:
        """Accuracy and rho per network kind against the swept parameter; fixed-MLP seeds as dots.
        Where `accurate` is false the rho marker is hollow: rho of a network near chance says little."""
        for plot in (self.accuracy_plot, self.rho_plot, self.good_plot):
            plot.setLabel("bottom", x_label)
        self.rho_plot.setLabel("left", rho_label)
        for kind, colour in KIND_COLOURS.items():
            self.accuracy_curves[kind].setData(*_finite(xs, accuracy.get(kind, [])))
            values = rho.get(kind, [])
            keep = _shown(xs, values)
            flags = np.asarray((accurate or {}).get(kind, [True] * len(values)), dtype=bool)[keep] if len(values) else []
            brushes = [pg.mkBrush(colour) if ok else pg.mkBrush(255, 255, 255) for ok in flags]
            self.rho_curves[kind].setData(*_finite(xs, values), symbolBrush=brushes or colour,
                                          symbolPen=pg.mkPen(colour, width=2))
        seed_x, seed_acc, seed_rho = seed_points
        self.accuracy_seeds.setData(*_finite(seed_x, seed_acc))
        self.rho_seeds.setData(*_finite(seed_x, seed_rho))
        self.truth_curve.setData(*_finite(xs, truth_rho))
        x_ticks = [[(math.log10(x), f"{x:g}") for x in sorted(set(xs)) if x > 0]]
        for plot in (self.accuracy_plot, self.rho_plot, self.good_plot):
            plot.getAxis("bottom").setTicks(x_ticks if xs else None)
        shown = [v for vs in [*rho.values(), seed_rho, truth_rho] for v in vs if math.isfinite(v) and v > 0]
        low, high = min([1.0, *shown]), max([1.0, *shown])
        rho_ticks = [v for v in RHO_TICKS if low / 3 <= v <= high * 3]
        self.rho_plot.getAxis("left").setTicks([[(math.log10(v), f"{v:g}") for v in rho_ticks]])

    def set_classes(self, xs: list[float], counts: dict[str, list[int]], title: str, y_label: str,
                    rule: str = "") -> None:
        """How many fixed-architecture runs fell in each class at each setting (three curves); `rule` says how
        a run is classed, under the title."""
        text = f"{title}<br><span style='font-size:9pt'>{rule}</span>" if rule else title
        if self.good_plot.getPlotItem().titleLabel.text != text:
            self.good_plot.getPlotItem().titleLabel.setText(text, size="11pt")
            follow_style(self.good_plot)
        self.good_plot.setLabel("left", y_label)
        x = np.asarray(xs, dtype=float)
        for name, curve in self.class_curves.items():
            y = np.asarray(counts.get(name, []), dtype=float)
            keep = (x > 0) & np.isfinite(y) if len(y) == len(x) else np.zeros(0, bool)
            curve.setData(x[keep], y[keep])

    def set_table(self, headers: list[str], rows: list[list[str]]) -> None:
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    def set_summary(self, text: str) -> None:
        self.summary.setText(text)

    def set_notes(self, text: str) -> None:
        self.notes.setText(text)

    def curve_points(self) -> dict[str, int]:
        """How many points each sweep curve shows (for tests and status)."""
        return {kind: len(curve.xData) if curve.xData is not None else 0 for kind, curve in self.rho_curves.items()}
