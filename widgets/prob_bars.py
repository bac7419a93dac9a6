"""Top-k class probabilities as horizontal bars, updated in place.

The class names sit on the left axis, which takes the width its longest name needs up to a share of the
widget; a longer name wraps onto a second line there (and is elided only past that), so ImageNet's names
stay readable at any window width.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QVBoxLayout, QWidget

AXIS_SHARE = 0.45  # at most this share of the widget's width goes to the class names
MIN_AXIS_WIDTH = 48
MAX_LINES = 2


def fit_label(text: str, metrics: QFontMetrics, width: int, max_lines: int = MAX_LINES) -> str:
    """`text` broken at spaces into at most `max_lines` lines no wider than `width`; the last line elided."""
    if metrics.horizontalAdvance(text) <= width:
        return text
    lines: list[str] = []
    words = text.split(" ")
    while words and len(lines) < max_lines - 1:
        line = words.pop(0)
        while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= width:
            line = f"{line} {words.pop(0)}"
        if metrics.horizontalAdvance(line) > width:  # one word longer than the axis: cut it here
            words.insert(0, line)
            break
        lines.append(line)
    rest = " ".join(words)
    if rest:
        lines.append(metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width))
    return "\n".join(lines)

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
        self.plot = pg.PlotWidget(title="Top 5 (adversarial)")
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
        self.axis = self.plot.getAxis("left")
        self.axis.setTicks([[(i, "") for i in range(k)]])
        self.axis.setWidth(MIN_AXIS_WIDTH)
        self.labels: list[str] = []
        self.shown_labels: list[str] = []
        self.probs = np.zeros(k)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._layout_labels()

    def _layout_labels(self) -> None:
        """The axis as wide as the longest name needs (within AXIS_SHARE of the widget), names wrapped to it."""
        metrics = QFontMetrics(self.axis.style.get("tickFont") or self.axis.font())
        pad = self.axis.style["tickTextOffset"][0] + max(self.axis.style["tickLength"], 0) + 8
        room = max(MIN_AXIS_WIDTH, int(self.width() * AXIS_SHARE) - pad)
        longest = max((metrics.horizontalAdvance(name) for name in self.labels), default=0)
        text_width = min(room, max(longest, MIN_AXIS_WIDTH - pad))
        self.shown_labels = [fit_label(name, metrics, text_width) for name in self.labels]
        self.axis.setWidth(text_width + pad)
        self.axis.setTicks([[(i, self.shown_labels[i] if i < len(self.shown_labels) else "") for i in range(self.k)]])

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
        self.labels = list(labels[:n])
        self.probs = probs
        self._layout_labels()
