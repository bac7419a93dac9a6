"""Help ▸ Guide and Help ▸ Keyboard shortcuts, built from the window as it is.

The guide opens on the page of the tab in front. The shortcut list is generated from every QAction of
the window that has a shortcut, with the menu path it sits under, so a key added, changed or removed
anywhere shows up here without anyone keeping a list.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from advlens.guide import PAGES, page_index
from advlens.widgets.guide_dialog import GuideDialog
from advlens.widgets.shortcuts_dialog import ShortcutsDialog

TAB_TITLES = {"Explorer": "explorer", "Analysis": "analysis", "Resolution lab": "resolution",
              "Stability lab": "stability"}  # as main_window.LAZY_TABS names them


def current_tab_key(window: QMainWindow) -> str:
    """The key ('explorer', 'analysis', …) of the tab in front, from its title."""
    tabs = window.tabs
    return TAB_TITLES.get(tabs.tabText(tabs.currentIndex()), "explorer")


def show_tab(window: QMainWindow, key: str) -> bool:
    """Bring the tab with `key` to the front (it is built if it was not yet); False if there is none."""
    tabs = window.tabs
    for index in range(tabs.count()):
        if TAB_TITLES.get(tabs.tabText(index)) == key:
            tabs.setCurrentIndex(index)
            return True
    return False


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _menu_paths(window: QMainWindow) -> dict[int, str]:
    """id(action) -> 'File ▸ Open recent' for every action reachable from the menu bar."""
    paths: dict[int, str] = {}

    def walk(menu: QMenu, path: str) -> None:
        for action in menu.actions():
            sub = action.menu()
            if sub is not None:
                walk(sub, f"{path} ▸ {_plain(sub.title())}")
            elif id(action) not in paths:
                paths[id(action)] = path

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), _plain(top.menu().title()))
    return paths


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, str]]:
    """(keys, action, menu) for every action of the window with a shortcut, in menu order, then the rest."""
    paths = _menu_paths(window)
    order = {key: i for i, key in enumerate(paths)}
    rows = []
    for action in window.findChildren(QAction):
        keys = [k for k in action.shortcuts() if not k.isEmpty()]
        if not keys:
            continue
        text = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
        menu = paths.get(id(action), "toolbar / window")
        rows.append((order.get(id(action), len(order)), text, _plain(action.text()), menu))
    rows.sort(key=lambda row: row[0])
    return [(keys, name, menu) for _i, keys, name, menu in rows]


class HelpActions:
    """Help ▸ Guide (F1) and Help ▸ Keyboard shortcuts (Ctrl+/) for `window`."""

    def __init__(self, window: QMainWindow):
        self.window = window
        self.guide_window: GuideDialog | None = None
        self.shortcuts_window: ShortcutsDialog | None = None

    def add_to(self, menu: QMenu) -> None:
        """The two entries at the top of the Help menu."""
        w = self.window
        self.guide_action = w._action("&Guide", QKeySequence.StandardKey.HelpContents, self.show_guide,  # noqa: SLF001
                                      "What each tab shows, how to read its plots, and the paper behind it", menu)
        self.shortcuts_action = w._action("&Keyboard shortcuts", "Ctrl+/", self.show_shortcuts,  # noqa: SLF001
                                          "Every key the window answers to", menu)
        menu.addSeparator()

    def show_guide(self) -> GuideDialog:
        """The guide, open on the current tab's page (non-modal: it can stay open beside the window)."""
        if self.guide_window is None:
            self.guide_window = GuideDialog([(p.title, p.html) for p in PAGES], parent=self.window)
        dialog = self.guide_window
        dialog.show_page(page_index(current_tab_key(self.window)))
        dialog.resize(dialog.sizeHint())
        dialog.show()
        dialog.raise_()
        return dialog

    def show_shortcuts(self) -> ShortcutsDialog:
        """The table of shortcuts as the window has them now (rebuilt each time it opens)."""
        if self.shortcuts_window is not None:
            self.shortcuts_window.close()
            self.shortcuts_window.deleteLater()
        self.shortcuts_window = dialog = ShortcutsDialog(shortcut_rows(self.window), parent=self.window)
        dialog.resize(dialog.sizeHint())
        dialog.show()
        return dialog
