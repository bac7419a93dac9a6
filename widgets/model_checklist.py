"""A checkable list of models with an 'Add a model file…' button: the transfer table's models.

A view only: the rows (which models, checked or not) come from the app, which also loads an added
file; the list reports what the person ticked and that they asked to add a file.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

ROWS_SHOWN = 4  # the list's height in rows before it scrolls: the column stays short at 768 px


class ModelChecklist(QGroupBox):
    """Rows of (key, text, tooltip, checked); `toggled(key, checked)` when the person ticks one."""

    toggled = Signal(str, bool)
    addRequested = Signal()

    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(title, parent)
        outer = QVBoxLayout(self)
        layout = QHBoxLayout()
        outer.addLayout(layout)
        self.list = QListWidget()
        self.list.setToolTip("Check the models the transfer table compares with the Explorer's model.")
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)  # a long title, never a sideways scroll bar
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(True)
        # the rows on the window's colour: a check box's empty square (the base colour) shows in both themes
        self.list.viewport().setBackgroundRole(QPalette.ColorRole.Window)
        self.list.itemChanged.connect(self._on_item_changed)
        layout.addWidget(self.list, 1)
        self.add_button = QPushButton("Add a model file…")
        self.add_button.setToolTip("Open a model file for the transfer table, as File ▸ Open model does "
                                   "(the Explorer's model stays).")
        self.add_button.clicked.connect(self.addRequested)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        outer.addWidget(self.note)
        self._fit_height(0)

    def set_models(self, rows: list[tuple[str, str, str, bool]]) -> None:
        """Show these rows (key, text, tooltip, checked), in order, without reporting them as ticked."""
        self.list.blockSignals(True)
        if [key for key, *_rest in rows] != self.keys():  # same rows (a tick): updated in place, as the
            self.list.clear()                           # ticked item may be the one reporting it
            for key, *_rest in rows:
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, key)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                self.list.addItem(item)
        for i, (_key, text, tip, checked) in enumerate(rows):
            item = self.list.item(i)
            item.setText(text)
            item.setToolTip(tip)
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.list.blockSignals(False)
        self._fit_height(len(rows))

    def checked_keys(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

    def keys(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def set_checked(self, key: str, checked: bool) -> None:
        """Tick or untick a row as the person would (it reports `toggled`)."""
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == key:
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """A new font (demo mode's large text) changes the rows' height."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_height(self.list.count())

    def _on_item_changed(self, item: QListWidgetItem) -> None:
        self.toggled.emit(item.data(Qt.ItemDataRole.UserRole), item.checkState() == Qt.CheckState.Checked)

    def _fit_height(self, rows: int) -> None:
        """As tall as its rows, up to ROWS_SHOWN, then it scrolls (an empty list keeps one row's room)."""
        row = max(self.list.sizeHintForRow(0), self.list.fontMetrics().height() + 4)
        frame = 2 * self.list.frameWidth()
        self.list.setFixedHeight(row * min(max(rows, 1), ROWS_SHOWN) + frame)
