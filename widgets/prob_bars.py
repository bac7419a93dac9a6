"""Top-k class probabilities as horizontal bars, updated in place."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

TRUE_COLOUR = (46, 160, 67)
TARGET_COLOUR = (214, 120, 0)
OTHER_COLOUR = (90, 120, 200)


class ProbabilityBars(QWidget):
    """Bars for the k most probable classes of the current adversarial image."""

    def __init__(self, k: int = 5, parent: QWidget | None = None):
        super().__init__(parent)
        self.k = k
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(title="Top-5 classes (adversarial)")
        layout.addWidget(self.plot)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(-0.6, k - 0.4, padding=0)
        self.plot.getAxis("bottom").setLabel("probability")
        self.plot.getPlotItem().invertY(True)
        self.bars = pg.BarGraphItem(x0=np.zeros(k), y=np.arange(k), height=0.7, width=np.zeros(k),
                                    brushes=[pg.mkBrush(OTHER_COLOUR)] * k)
        self.plot.addItem(self.bars)
        self.texts = []
        for i in range(k):
            text = pg.TextItem("", anchor=(0, 0.5), color=pg.getConfigOption("foreground"))
            text.setPos(0.01, i)
            self.plot.addItem(text)
            self.texts.append(text)
        self.plot.getAxis("left").setTicks([[(i, "") for i in range(k)]])
        self.plot.getAxis("left").setWidth(90)
        self.labels: list[str] = []
        self.probs = np.zeros(k)

    def set_probabilities(self, labels: list[str], probs: np.ndarray, true_label: str | None = None,
                          target_label: str | None = None) -> None:
        probs = np.asarray(probs, dtype=float)[: self.k]
        n = len(probs)
        widths = np.zeros(self.k)
        widths[:n] = probs
        brushes = []
        for i in range(self.k):
            name = labels[i] if i < n else ""
            colour = TRUE_COLOUR if name == true_label else TARGET_COLOUR if name == target_label else OTHER_COLOUR
            brushes.append(pg.mkBrush(colour))
            self.texts[i].setText(f"{probs[i]:.1%}" if i < n else "")
            self.texts[i].setPos(min(widths[i], 0.8) + 0.01, i)
        self.bars.setOpts(width=widths, brushes=brushes)
        self.plot.getAxis("left").setTicks([[(i, labels[i] if i < n else "") for i in range(self.k)]])
        self.labels = list(labels[:n])
        self.probs = probs
