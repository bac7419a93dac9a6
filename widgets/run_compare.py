"""Two run records side by side: their images, their metric curves overlaid, and what settings differ.

A view only: the app reads and compares the records and hands this dialog plain numpy arrays, lists
and strings. Plot items are created once and updated with setData when another pair is chosen.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .image_pane import DIVERGING_MAP, ImagePane
from .metric_plots import SERIES, add_step_plots
from .plot_style import follow_style

RUN_NAMES = ("A", "B")
RUN_STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine)


class RunCompareDialog(QDialog):
    """Pick two runs (A, B) from lists the app fills; the app answers a choice with `set_runs`."""

    choiceChanged = Signal(str, str)  # keys (record folders) of run A and run B

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Compare runs")
        self.resize(1150, 820)
        self._filling = False
        choosers = QFormLayout()
        self.choosers: list[QComboBox] = []
        for name in RUN_NAMES:
            combo = QComboBox()
            combo.setToolTip(f"Run {name}: a saved run record (newest first)")
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(60)
            combo.currentIndexChanged.connect(self._on_choice)
            choosers.addRow(f"Run {name} ({'solid' if name == 'A' else 'dashed'})", combo)
            self.choosers.append(combo)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("compareMessage")

        images = QWidget()
        grid = QHBoxLayout(images)
        grid.setContentsMargins(0, 0, 0, 0)
        self.panes: list[dict[str, ImagePane]] = []
        self.boxes: list[QGroupBox] = []
        for name in RUN_NAMES:
            box = QGroupBox(f"Run {name}")
            row = QGridLayout(box)
            panes = {
                "original": ImagePane("Original", "The image the run attacked."),
                "adversarial": ImagePane("Adversarial", "The run's final adversarial image."),
                "perturbation": ImagePane("Perturbation", "Adversarial minus original, channel mean; blue "
                                          "lowers, red raises a pixel.", colormap=DIVERGING_MAP, colorbar=True,
                                          unit="Δ (/255)"),
            }
            for column, pane in enumerate(panes.values()):
                row.addWidget(pane, 0, column)
            grid.addWidget(box, 1)
            self.panes.append(panes)
            self.boxes.append(box)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setToolTip("Per step, run A solid and run B dashed: loss and margin, true/target "
                                 "probability, L2 and Linf (x255) of the perturbation.")
        self.step_plots = add_step_plots(self.graphics, legend_size="8pt")
        self.plots = self.step_plots.plots
        self.curves: list[dict[str, pg.PlotDataItem]] = []
        for run, style in zip(RUN_NAMES, RUN_STYLES, strict=True):
            curves = {}
            for name, (_index, legend, colour, _axis) in SERIES.items():
                curves[name] = self.step_plots.add_curve(
                    name, f"{legend} {run}", pen=pg.mkPen(colour, width=2 if run == "A" else 1, style=style),
                    antialias=False, skipFiniteCheck=True)
            self.curves.append(curves)
        self.step_plots.show_legend_for(set())

        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["", "Run A", "Run B"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Settings that differ between the two runs, then both outcomes")

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(images)
        split.addWidget(self.graphics)
        split.addWidget(self.table)
        split.setSizes([300, 260, 240])
        layout = QVBoxLayout(self)
        layout.addLayout(choosers)
        layout.addWidget(self.message)
        layout.addWidget(split, 1)
        follow_style(self)  # opened in demo mode: its plots at the demo's sizes too

    # --- choices
    def set_choices(self, items: list[tuple[str, str]], a: str | None, b: str | None) -> None:
        """(key, label) for every run that can be picked; select `a` and `b` without emitting."""
        self._filling = True
        try:
            for combo, key in zip(self.choosers, (a, b), strict=True):
                combo.clear()
                for item_key, label in items:
                    combo.addItem(label, item_key)
                    combo.setItemData(combo.count() - 1, item_key, Qt.ItemDataRole.ToolTipRole)
                index = combo.findData(key) if key is not None else -1
                combo.setCurrentIndex(index)
        finally:
            self._filling = False

    def chosen(self) -> tuple[str | None, str | None]:
        a, b = (combo.currentData() for combo in self.choosers)
        return a, b

    def _on_choice(self, *_args) -> None:
        a, b = self.chosen()
        if not self._filling and a and b:
            self.choiceChanged.emit(a, b)

    def show_message(self, text: str) -> None:
        """A plain line above the views (a run that cannot be read, fewer than two runs)."""
        self.message.setText(text)

    # --- the pair
    def set_runs(self, data: dict) -> None:
        """Show a pair. `data`: runs (two dicts: title, original/adversarial (H, W, 3), perturbation (H, W),
        peak, captions), steps (two arrays), series (two dicts name -> array), rows ((field, a, b) text)."""
        self.message.setText(data.get("message", ""))
        for box, panes, run in zip(self.boxes, self.panes, data["runs"], strict=True):
            box.setTitle(run["title"])
            box.setToolTip(run.get("tooltip", ""))
            panes["original"].set_rgb(run["original"])
            panes["original"].set_caption(run.get("original_caption", ""))
            panes["adversarial"].set_rgb(run["adversarial"])
            panes["adversarial"].set_caption(run.get("adversarial_caption", ""), run.get("tone", ""))
            peak = max(float(run.get("peak", 0.0)), 1e-6)
            panes["perturbation"].set_scalar(run["perturbation"] * 255, (-peak * 255, peak * 255))
            panes["perturbation"].set_caption(f"±{peak * 255:.1f}/255 = full colour")
        present = set()
        for run, curves, steps, series in zip(RUN_NAMES, self.curves, data["steps"], data["series"], strict=True):
            for name, curve in curves.items():
                values = series.get(name)
                if values is None or len(values) == 0 or not np.isfinite(values).any():
                    curve.setData([], [])
                else:
                    curve.setData(steps[: len(values)], values, skipFiniteCheck=True)
                    present.add(f"{SERIES[name][1]} {run}")
        self.step_plots.show_legend_for(present)
        rows = data.get("rows", [])
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(str(text))
                if c == 0 or row[1] == "" and row[2] == "":
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)

    def point_counts(self) -> list[dict[str, int]]:
        """Points per curve, per run (tests and a quick sanity check)."""
        return [{name: len(c.xData) if c.xData is not None else 0 for name, c in curves.items()}
                for curves in self.curves]

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() if self.table.item(r, c) else "" for c in range(3))
                for r in range(self.table.rowCount())]
