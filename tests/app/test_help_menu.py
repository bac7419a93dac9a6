"""Help ▸ Guide opens on the page of the tab in front; Help ▸ Keyboard shortcuts lists the window's own keys."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction, QKeySequence

from advlens.guide import PAGES
from advlens.help_actions import TAB_TITLES
from advlens.main_window import LAZY_TABS

pytestmark = pytest.mark.gui


def test_every_tab_has_a_guide_page_and_the_labs_name_their_papers():
    assert {p.key for p in PAGES} == {"explorer", *LAZY_TABS}
    assert set(TAB_TITLES) == {"Explorer", *LAZY_TABS.values()}
    text = {p.key: p.html for p in PAGES}
    assert "Dube" in text["resolution"] and "1801.00634" in text["resolution"]
    assert all(name in text["stability"] for name in ("Bastounis", "Hansen", "Vlačić", "2109.06098"))


def test_the_guide_opens_on_the_current_tabs_page(qtbot, main_window):
    w = main_window
    help_menu = [a.menu() for a in w.menuBar().actions() if a.menu() is not None and a.text() == "&Help"][0]
    assert [a.text() for a in help_menu.actions()][:2] == ["&Guide", "&Keyboard shortcuts"]
    dialog = w.help.show_guide()
    assert dialog.isVisible() and dialog.current_title == "Explorer"
    assert "Adversarial" in dialog.browser.toPlainText()
    w.tabs.setCurrentIndex(3)  # Stability lab
    dialog = w.help.show_guide()
    assert dialog.current_title.startswith("Stability lab")
    assert "Bastounis" in dialog.browser.toPlainText()
    dialog.index.setCurrentRow(2)  # the list picks any page
    assert "Dube" in dialog.browser.toPlainText()
    dialog.close()


def test_the_shortcut_list_is_made_from_the_windows_actions(qtbot, main_window):
    w = main_window
    dialog = w.help.show_shortcuts()
    rows = {keys: (name, menu) for keys, name, menu in dialog.rows}
    f5 = QKeySequence("F5").toString(QKeySequence.SequenceFormat.NativeText)
    assert rows[f5] == ("Run", "Run")
    assert rows[QKeySequence("F11").toString(QKeySequence.SequenceFormat.NativeText)][0] == "Full-screen demo mode"
    assert rows[QKeySequence("Ctrl+1").toString(QKeySequence.SequenceFormat.NativeText)] == \
        ("PGD fools the star", "Presets")
    assert rows[QKeySequence("Ctrl+S").toString(QKeySequence.SequenceFormat.NativeText)][1] == "File"
    assert dialog.table.rowCount() == len(dialog.rows)
    every = {action for action in w.findChildren(QAction) if not action.shortcut().isEmpty()}
    assert len(dialog.rows) == len(every)

    # a key added anywhere shows up the next time the list opens: nobody keeps the list by hand
    extra = QAction("Do a new thing", w)
    extra.setShortcut(QKeySequence("Ctrl+Alt+J"))
    w.run_action.setShortcut(QKeySequence("F4"))
    w.addAction(extra)
    rows = {keys: name for keys, name, _menu in w.help.show_shortcuts().rows}
    assert rows[QKeySequence("Ctrl+Alt+J").toString(QKeySequence.SequenceFormat.NativeText)] == "Do a new thing"
    assert rows[QKeySequence("F4").toString(QKeySequence.SequenceFormat.NativeText)] == "Run" and f5 not in rows
    w.run_action.setShortcut(QKeySequence("F5"))
