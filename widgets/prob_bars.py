"""Top-k class probabilities as horizontal bars, updated in place.

Each class's name and probability are written on a line of their own above its bar, elided to the
plot's width, so long names (ImageNet's) never need a wide axis and the plot fits any window width.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .plot_style import DEFAULT_TEXT_PT, cache_axes, scaled

TRUE_COLOUR = (46, 160, 67)
TARGET_COLOUR = (214, 120, 0)
OTHER_COLOUR = (90, 120, 200)
BAR_HEIGHT = 0.36  # of a row: the name in the upper part, the bar under it
TEXT_Y, BAR_Y = 0.28, 0.74  # centres within a row
BAR_STEP = 0.002  # of the full width: under a pixel at any width the bars are drawn at


def share_text(prob: float) -> str:
    """93% or 0.4%: whole percents where a tenth would change on nearly every frame of a run."""
    return f"{prob:.0%}" if prob >= 0.1 else f"{prob:.1%}"


class ProbabilityBars(QWidget):
    """Bars for the k most probable classes of the current adversarial image."""

    def __init__(self, k: int = 5, parent: QWidget | None = None):
        super().__init__(parent)
        self.k = k
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.title = QLabel("Top-5 classes (adversarial)")
        self.title.setObjectName("plotTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.title.setMinimumWidth(10)
        layout.addWidget(self.title)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumWidth(60)
        layout.addWidget(self.plot, 1)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setXRange(0, 1, padding=0.02)
        self.plot.setYRange(0, k, padding=0.01)
        self.plot.getAxis("bottom").setLabel("probability")
        self.plot.getAxis("left").setTicks([[]])
        self.plot.getAxis("left").setWidth(6)
        self.plot.getPlotItem().invertY(True)
        self.bars = pg.BarGraphItem(x0=np.zeros(k), y=np.arange(k) + BAR_Y, height=BAR_HEIGHT,
                                    width=np.zeros(k), brushes=[pg.mkBrush(OTHER_COLOUR)] * k)
        self.plot.addItem(self.bars)
        self.texts = []
        for i in range(k):
            text = pg.TextItem("", anchor=(0, 0.5), color=pg.getConfigOption("foreground"))
            text.setPos(0.0, i + TEXT_Y)
            self.plot.addItem(text)
            self.texts.append(text)
        self.labels: list[str] = []
        self.probs = np.zeros(k)
        self._lines: list[tuple[str, str]] = []
        self._shown_widths: np.ndarray | None = None  # the bars as drawn
        self._colours: list = []
        self.plot.getPlotItem().vb.sigResized.connect(self._draw_texts)
        cache_axes(self.plot)
        self._fit_height()

    def _fit_height(self) -> None:
        """Tall enough for k lines of text and k bars at the plots' current text size."""
        font = QFont(self.font())
        font.setPointSizeF(scaled(DEFAULT_TEXT_PT))
        line = QFontMetricsF(font).lineSpacing()
        self.plot.setMinimumHeight(int(self.k * line * 1.3 + line * 2.5))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.FontChange:
            QTimer.singleShot(0, self, self._fit_height)  # after the plots took their new sizes
            QTimer.singleShot(0, self, self._draw_texts)
        super().changeEvent(event)

    def _draw_texts(self, *_args) -> None:
        """Each row's line, its class name elided to what the plot's width leaves beside the probability."""
        width = self.plot.getPlotItem().vb.width() - 6
        for text, (name, share) in zip(self.texts, self._lines, strict=False):
            metrics = QFontMetricsF(text.textItem.font())
            room = max(width - metrics.horizontalAdvance(f"  {share}"), metrics.averageCharWidth() * 3)
            shown = metrics.elidedText(name, Qt.TextElideMode.ElideRight, room) if name else ""
            line = f"{shown}  {share}" if name else ""
            if text.toPlainText() != line:
                text.setText(line)

    def set_probabilities(self, labels: list[str], probs: np.ndarray, true_label: str | None = None,
                          target_label: str | None = None) -> None:
        probs = np.asarray(probs, dtype=float)[: self.k]
        n = len(probs)
        widths = np.zeros(self.k)
        widths[:n] = probs
        colours = []
        lines = []
        for i in range(self.k):
            name = labels[i] if i < n else ""
            colours.append(TRUE_COLOUR if name == true_label else TARGET_COLOUR if name == target_label else OTHER_COLOUR)
            lines.append((name, share_text(probs[i]) if i < n else ""))
        # at the frame rate most frames move the bars by less than a pixel and leave the texts as they were:
        # those frames are not redrawn (about a fifth of the Explorer's paint time during a run)
        moved = self._shown_widths is None or float(np.abs(widths - self._shown_widths).max()) > BAR_STEP
        if moved or colours != self._colours:
            self.bars.setOpts(width=widths, brushes=[pg.mkBrush(c) for c in colours])
            self._shown_widths, self._colours = widths, colours
        if lines != self._lines:
            self._lines = lines
            self._draw_texts()
        self.labels = list(labels[:n])
        self.probs = probs
