"""Texts that change several times a second during a run (pane captions, the banner, the rate counter, the
step bar) without re-laying out the window.

Why: `QLabel.setText` asks every layout up to the window for room whether or not the new text needs
another size, and `QProgressBar.setValue` repaints at once, outside the frame's paint. During a run
the Explorer changed six such texts four times a second; each change re-laid out the window and the
main window then repainted everything that is not an opaque plot (measured offscreen at 30 frames/s,
1400×850: the main window painted 0.73 times per drawn frame over about 600,000 px²; 0.39 with these
classes, 0.25 with no text changing at all; 5.7 → 5.3 ms of GUI thread per frame). A `LiveLabel` keeps
room for a number of lines of its own font and draws its text itself, so a new text that fits repaints
the label alone.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QProgressBar, QWidget


def room_for_lines(label: QWidget, lines: int, leading: int = 0) -> int:
    """Height in pixels that `lines` lines of `label`'s own font take, with its contents margins.

    One helper so every held or capped text measures a line alike; `leading` is the pixel Qt's text
    layout adds per line where the room must fit the text exactly.
    """
    margins = label.contentsMargins()
    return (label.fontMetrics().lineSpacing() + leading) * lines + margins.top() + margins.bottom()


class LiveLabel(QLabel):
    """A label that keeps room for `lines` lines of its font and draws its text itself.

    A new text that fits the room repaints this label and nothing else: no layout is asked for room.
    One that needs more lines than the label has (a long message, a narrow pane) asks for them once,
    so the room is a minimum, never a clip; it is given back when a later text fits the held lines.
    A label that does not wrap asks for the width of the widest text it has shown, and at least that of
    `width_text` (a counter's "00000 steps/s · 00 fps"), so what sits beside it does not shift as digits
    change. Style sheets apply as to any QLabel (object names, the `tone` property, padding, colours).
    """

    def __init__(self, text: str = "", lines: int = 1, wrap: bool = False, width_text: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)  # QLabel's own text stays empty: this class draws `_text`
        self.lines = lines
        self.wrap = wrap
        self.width_text = width_text
        self._text = ""
        self._rows = lines  # the lines of room the layout was last asked for
        self._width = 0  # the width it was last asked for (a one-line label: the widest text so far)
        self.setMinimumWidth(10)
        self.setText(text)
        self._fit_rows()  # an empty first text set nothing

    # ------------------------------------------------------------------ text
    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        text = str(text)
        if text == self._text:
            return
        self._text = text
        self.setAccessibleName(text)  # QLabel's own text, which screen readers read, stays empty
        self._fit_rows()
        self.update()

    def _flags(self) -> int:
        """How the text is laid out: one set of flags for measuring it and for drawing it."""
        return int(self.alignment()) | (Qt.TextFlag.TextWordWrap.value if self.wrap else 0)

    def rows_needed(self) -> int:
        """Lines the current text takes at the label's width, at least `lines`."""
        if not self._text:
            return self.lines
        if not self.wrap:
            return max(self.lines, self._text.count("\n") + 1)
        width = self.contentsRect().width()
        if width <= 0:
            return self.lines
        height = self.fontMetrics().boundingRect(QRect(0, 0, width, 1 << 20), self._flags(), self._text).height()
        # n lines measure n line spacings give or take a pixel of leading: round, never ceil (ceil made
        # every two-line caption ask for three in demo mode's type)
        return max(self.lines, round(height / max(self.fontMetrics().lineSpacing(), 1)))

    def _width_needed(self) -> int:
        if self.wrap:
            return 0
        advance = self.fontMetrics().horizontalAdvance
        margins = self.contentsMargins()
        widest = max([advance(self.width_text)] + [advance(line) for line in self._text.split("\n")])
        return widest + margins.left() + margins.right() + 2 if widest else 0

    def _fit_rows(self) -> None:
        rows, width = self.rows_needed(), max(self._width, self._width_needed())
        if (rows, width) != (self._rows, self._width):
            self._rows, self._width = rows, width
            self.updateGeometry()

    # ------------------------------------------------------------------ size
    def _hint(self) -> QSize:
        return QSize(max(self._width, self.minimumWidth()), room_for_lines(self, self._rows, leading=1))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self._hint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self._hint()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return False  # the room is held in lines; a text that needs more asks for them itself

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._rows, self._width = self.rows_needed(), self._width_needed()
            self.updateGeometry()  # a line of another font is another size

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.wrap and event.oldSize().width() != event.size().width():
            self._fit_rows()  # the text wraps to another number of lines

    # ------------------------------------------------------------------ paint
    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        self.drawFrame(painter)
        painter.setFont(self.font())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.contentsRect(), self._flags(), self._text)
        painter.end()


class LiveProgressBar(QProgressBar):
    """A progress bar whose new value is painted with the next frame, not at once.

    `QProgressBar.setValue` repaints on the spot, which during a run flushed the whole window's
    pending paint a second time between two frames.
    """

    def setValue(self, value: int) -> None:  # noqa: N802 - Qt override
        if value == self.value():
            return
        self.setUpdatesEnabled(False)  # the immediate repaint inside setValue does nothing now
        super().setValue(value)
        self.setUpdatesEnabled(True)  # which schedules an ordinary update()
