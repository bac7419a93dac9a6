"""Help ▸ Guide: a list of pages on the left, the chosen page on the right.

A thin view: the pages are (title, HTML) pairs the app hands in (app/guide.py holds the text). Its size is
counted in lines and characters of the current font, so demo mode's large text gets a larger dialog
instead of cut-off words; the page scrolls, the list never does sideways.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

PAGE_CHARS = 80  # a readable line length
PAGE_LINES = 34


class GuideDialog(QDialog):
    """The guide's pages; `show_page(i)` picks one (the window opens it on the current tab's page)."""

    def __init__(self, pages: list[tuple[str, str]], current: int = 0, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("AdvLens guide")
        self.pages = list(pages)
        self.index = QListWidget()
        self.index.setObjectName("guideIndex")
        self.index.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.index.setWordWrap(True)
        self.index.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for title, _html in self.pages:
            self.index.addItem(title)
        self.browser = QTextBrowser()
        self.browser.setObjectName("guidePage")
        self.browser.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.index, 0)
        row.addWidget(self.browser, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(buttons)
        self.index.currentRowChanged.connect(self._show)
        self._fit_to_font()
        self.show_page(current)

    def _fit_to_font(self) -> None:
        metrics = self.fontMetrics()
        longest = max((metrics.horizontalAdvance(title) for title, _ in self.pages), default=0)
        # the index: its longest title on at most two lines, plus the frame and a margin
        self.index.setFixedWidth(min(longest, 22 * metrics.averageCharWidth()) + 4 * metrics.averageCharWidth())
        self._size = QSize(self.index.width() + PAGE_CHARS * metrics.averageCharWidth(), PAGE_LINES * metrics.height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        screen = self.screen().availableGeometry().size() if self.screen() is not None else self._size
        return self._size.boundedTo(QSize(int(screen.width() * 0.9), int(screen.height() * 0.9)))

    def show_page(self, index: int) -> None:
        """Show page `index` (clamped to the pages there are)."""
        index = min(max(index, 0), len(self.pages) - 1)
        self.index.setCurrentRow(index)
        self._show(index)

    @property
    def current_title(self) -> str:
        row = self.index.currentRow()
        return self.pages[row][0] if 0 <= row < len(self.pages) else ""

    def _show(self, index: int) -> None:
        if 0 <= index < len(self.pages):
            self.browser.setHtml(self.pages[index][1])
