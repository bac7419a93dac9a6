"""Help ▸ Keyboard shortcuts: a table of what each key does and where it lives in the menus.

A thin view of rows the app builds from the window's own actions (app/help_actions.py), so the list
cannot drift from the keys that work.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

HEADERS = ("Keys", "Action", "Menu")


class ShortcutsDialog(QDialog):
    """Rows of (keys, action, menu), shown in the order given."""

    def __init__(self, rows: list[tuple[str, str, str]], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = list(rows)
        self.table = QTableWidget(len(self.rows), len(HEADERS))
        self.table.setObjectName("shortcutTable")
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        for r, row in enumerate(self.rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.resizeRowsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        """Every row and column in view where the screen allows (counted in the current font)."""
        metrics = self.fontMetrics()
        width = sum(self.table.horizontalHeader().sectionSize(c) for c in range(self.table.columnCount()))
        width = max([width] + [metrics.horizontalAdvance("    ".join(row)) for row in self.rows])
        height = self.table.horizontalHeader().height() + sum(self.table.rowHeight(r) for r in range(len(self.rows)))
        wanted = QSize(width + 6 * metrics.averageCharWidth(), height + 5 * metrics.height())
        screen = self.screen().availableGeometry().size() if self.screen() is not None else wanted
        return wanted.boundedTo(QSize(int(screen.width() * 0.9), int(screen.height() * 0.9)))

    def keys(self) -> list[str]:
        """The keys column, for tests and scripts."""
        return [row[0] for row in self.rows]
