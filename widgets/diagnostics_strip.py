"""The Diagnostics strip: is the attack on screen too weak to trust? One traffic light per indicator of
attack failure, with its value, one sentence and the fix; one click asks for the fix as a new run, and
the two runs' outcomes then sit side by side.

A view only (no torch, no engine): it is fed the plain dicts of a run's diagnosis (the engine's
`RunDiagnosis.to_dict()`: "summary" is a list of indicators, each with name, title, level, value_text,
sentence and fix) and text rows for the comparison; it answers a click with `fixRequested(fix dict)`.
Rows are made once per indicator and updated in place, so live updates do not rebuild the strip.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

LIGHTS = {"fail": "#c62828", "warn": "#f9a825", "ok": "#2e7d32", "skipped": "#9e9e9e"}
LEVEL_WORDS = {"fail": "fail", "warn": "warning", "ok": "ok", "skipped": "not measured"}
RANK = {"fail": 0, "warn": 1, "ok": 2, "skipped": 3}


class IndicatorRow(QFrame):
    """One indicator: light, title and value on a line; when it fired, its sentence and fix below."""

    fixClicked = Signal(str)  # indicator name

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.setObjectName("diagnosticRow")
        self.light = QLabel()
        self.light.setFixedSize(14, 14)
        self.title = QLabel()
        self.title.setObjectName("diagnosticTitle")
        self.title.setWordWrap(True)  # a narrow strip wraps the title rather than clip the value beside it
        self.value = QLabel()
        self.value.setObjectName("diagnosticValue")
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.sentence = QLabel()
        self.sentence.setWordWrap(True)
        self.sentence.setObjectName("diagnosticSentence")
        self.fix = QLabel()
        self.fix.setWordWrap(True)
        self.fix.setObjectName("diagnosticFix")
        self.apply = QPushButton("Apply fix")
        self.apply.setToolTip("Run the attack again with this change of settings and compare both runs")
        self.apply.clicked.connect(lambda: self.fixClicked.emit(self.name))
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.light, 0, Qt.AlignmentFlag.AlignVCenter)
        top.addWidget(self.title, 1)
        top.addWidget(self.value)
        fix_line = QHBoxLayout()
        fix_line.setContentsMargins(20, 0, 0, 0)
        fix_line.addWidget(self.fix, 1)
        fix_line.addWidget(self.apply, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.sentence)
        layout.addLayout(fix_line)
        self.sentence.setContentsMargins(20, 0, 0, 0)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)  # never squeezed: it scrolls
        self.level = ""
        self.fix_data: dict | None = None

    def show_indicator(self, data: dict) -> None:
        level = str(data.get("level", "skipped"))
        self.level = level
        colour = LIGHTS.get(level, LIGHTS["skipped"])
        self.light.setStyleSheet(f"background: {colour}; border-radius: 7px;")
        self.light.setToolTip(LEVEL_WORDS.get(level, level))
        self.title.setText(str(data.get("title", self.name)))
        self.value.setText(str(data.get("value_text", "")))
        sentence = str(data.get("sentence", ""))
        fired = level in ("fail", "warn")
        self.sentence.setText(sentence[:1].upper() + sentence[1:] if sentence else "")
        self.sentence.setVisible(fired and bool(sentence))
        fix = data.get("fix") or None
        self.fix_data = fix if fired else None
        self.fix.setVisible(fired and fix is not None)
        self.apply.setVisible(fired and fix is not None and bool(fix.get("changes")))
        if fix is not None:
            advice = f" {fix['advice']}" if fix.get("advice") else ""
            self.fix.setText(f"<b>Fix:</b> {fix.get('title', '')}.{advice}")
            self.fix.setToolTip(advice.strip())
        self.setToolTip("" if fired else sentence)


class DiagnosticsStrip(QWidget):
    """The indicators of the current run, worst first, and the before/after comparison of a fix."""

    fixRequested = Signal(dict)  # the fix (title, changes, advice) of the indicator whose button was clicked

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("diagnosticsStrip")
        self.heading = QLabel("Diagnostics")
        self.heading.setObjectName("diagnosticsHeading")
        self.status = QLabel("Run an attack: its indicators of failure show here.")
        self.status.setWordWrap(True)
        self.status.setObjectName("diagnosticsStatus")
        self.rows: dict[str, IndicatorRow] = {}
        self.list_widget = QWidget()
        self.list_layout = QVBoxLayout(self.list_widget)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.setSpacing(1)
        self.list_layout.addStretch(1)
        self.rows_area = scroll = QScrollArea()
        scroll.setMinimumHeight(110)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # always on: a bar that comes and goes changes the width the rows wrap at, and so their height
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        scroll.setWidget(self.list_widget)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setObjectName("diagnosticsNotes")
        self.notes.hide()
        self.comparison = QGroupBox("Before and after the fix")
        self.comparison_grid = QGridLayout(self.comparison)
        self.comparison_grid.setContentsMargins(6, 4, 6, 4)
        self.comparison_grid.setVerticalSpacing(2)
        self.comparison_grid.setColumnStretch(1, 1)
        self.comparison_grid.setColumnStretch(2, 1)
        self.comparison.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.comparison_cells: list[list[QLabel]] = []  # made once per row, reused (never deleted while shown)
        self.comparison.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.heading)
        layout.addWidget(self.status)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.notes)
        layout.addWidget(self.comparison)
        self.setStyleSheet("QLabel#diagnosticsHeading { font-weight: 700; font-size: 120%; }"
                           "QLabel#diagnosticTitle { font-weight: 600; }"
                           "QLabel#diagnosticsStatus, QLabel#diagnosticsNotes { font-style: italic; }")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setMinimumWidth(260)
        self._diagnosis: dict | None = None

    # ------------------------------------------------------------------ what the app calls
    def clear(self, message: str = "Run an attack: its indicators of failure show here.") -> None:
        for row in self.rows.values():
            row.hide()
        self.status.setText(message)
        self.notes.hide()
        self._diagnosis = None

    def set_diagnosis(self, data: dict | None, live: bool = False) -> None:
        """Show a run's diagnosis (RunDiagnosis.to_dict()); `live` while the run is still going."""
        if not data:
            self.clear()
            return
        self._diagnosis = data
        indicators = list(data.get("summary", []))
        indicators.sort(key=lambda d: RANK.get(str(d.get("level")), 9))
        shown = set()
        for position, item in enumerate(indicators):
            name = str(item.get("name"))
            row = self.rows.get(name)
            if row is None:
                row = IndicatorRow(name)
                row.fixClicked.connect(self._on_fix)
                self.rows[name] = row
            self.list_layout.removeWidget(row)
            self.list_layout.insertWidget(position, row)
            row.show_indicator(item)
            row.show()
            shown.add(name)
        for name, row in self.rows.items():
            if name not in shown:
                row.hide()
        self.status.setText(self._status_text(indicators, live))
        notes = [str(n) for n in data.get("notes", [])]
        self.notes.setText("\n".join(f"Note: {n}" for n in notes))
        self.notes.setVisible(bool(notes))
        self._fit_list()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_list()

    def _fit_list(self) -> None:
        """Give the rows the height their wrapped text needs at this width, so the area scrolls instead of
        squeezing them (a scroll area does not ask its contents for height-for-width by itself)."""
        width = max(self.rows_area.viewport().width(), 1)
        layout = self.list_layout
        height = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.sizeHint().height()
        if self.list_widget.minimumHeight() != height:
            self.list_widget.setMinimumHeight(max(height, 0))
            # the scroll area decides on its bar when it lays out its children: ask it to, now
            QApplication.sendEvent(self.rows_area, QEvent(QEvent.Type.LayoutRequest))

    def set_status(self, text: str) -> None:
        """A line above the lights (what is being measured now); the next diagnosis replaces it."""
        self.status.setText(text)

    def set_comparison(self, rows: list[tuple[str, str, str]] | None,
                       headers: tuple[str, str] = ("Before", "After")) -> None:
        """Two runs' outcomes side by side: (what, before, after) rows; None hides the comparison."""
        if not rows:
            self.comparison.hide()
            return
        table = [("", f"<b>{headers[0]}</b>", f"<b>{headers[1]}</b>"), *rows]
        while len(self.comparison_cells) < len(table):
            r = len(self.comparison_cells)
            cells = []
            for col in range(3):
                label = QLabel()
                label.setWordWrap(col > 0)
                label.setObjectName("comparisonCell")
                label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                self.comparison_grid.addWidget(label, r, col)
                cells.append(label)
            self.comparison_cells.append(cells)
        for r, cells in enumerate(self.comparison_cells):
            for col, label in enumerate(cells):
                label.setText(str(table[r][col]) if r < len(table) else "")
                label.setVisible(r < len(table))
        self.comparison.show()

    def comparison_texts(self) -> list[str]:
        """The texts of the comparison's visible cells, row by row (tests, the app)."""
        return [label.text() for cells in self.comparison_cells for label in cells if not label.isHidden()]

    # ------------------------------------------------------------------ reading back (tests, the app)
    def light_of(self, name: str) -> str:
        """The level shown for an indicator ('' if it is not shown)."""
        row = self.rows.get(name)
        return row.level if row is not None and not row.isHidden() else ""

    def shown_order(self) -> list[str]:
        return [self.list_layout.itemAt(i).widget().name for i in range(self.list_layout.count())
                if self.list_layout.itemAt(i).widget() is not None and not self.list_layout.itemAt(i).widget().isHidden()]

    # ------------------------------------------------------------------ internals
    def _on_fix(self, name: str) -> None:
        row = self.rows.get(name)
        if row is not None and row.fix_data is not None and row.fix_data.get("changes"):
            self.fixRequested.emit(dict(row.fix_data) | {"indicator": name})

    @staticmethod
    def _status_text(indicators: list[dict], live: bool) -> str:
        fired = [d for d in indicators if d.get("level") in ("fail", "warn")]
        measured = [d for d in indicators if d.get("level") != "skipped"]
        suffix = " (so far; the probes run when the attack ends)" if live else ""
        if fired:
            worst = "fail" if any(d.get("level") == "fail" for d in fired) else "warn"
            words = "can't be trusted as it is" if worst == "fail" else "may be too weak"
            return f"{len(fired)} of {len(measured)} indicators fired: this attack {words}{suffix}."
        if not measured:
            return "Measuring…" if live else "Nothing could be measured for this run."
        return f"None of {len(measured)} indicators fired{suffix}."
