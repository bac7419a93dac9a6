"""Desktop habits: a recent-files menu that survives restarts, and a light/dark choice applied at once."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from advlens.engine.samples import samples_dir

pytestmark = pytest.mark.gui


def _recent_actions(window) -> dict[str, object]:
    window._fill_recent_menu()
    return {a.toolTip(): a for a in window.recent_menu.actions() if a.toolTip() and a.isEnabled()}


def test_opened_files_appear_in_open_recent_and_reopen_from_there(qtbot, main_window, tmp_path):
    w = main_window
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    shutil.copy(samples_dir() / "star.png", first)
    shutil.copy(samples_dir() / "circle.png", second)
    for path in (first, second):  # each is read by the engine, then becomes the image and a recent file
        with qtbot.waitSignal(w.state.imageChanged, timeout=60_000):
            assert w.state.load_image(str(path))
    assert w.state.recent.items("images")[:2] == [str(second.resolve()), str(first.resolve())]

    with qtbot.waitSignal(w.state.imageChanged, timeout=60_000):
        _recent_actions(w)[str(first.resolve())].trigger()
    assert w.state.image_key == str(first.resolve())
    assert w.state.recent.items("images")[0] == str(first.resolve())


def test_a_recent_file_that_is_gone_says_so_keeps_the_image_and_leaves_the_list(qtbot, main_window, tmp_path):
    w = main_window
    gone = tmp_path / "gone.png"
    shutil.copy(samples_dir() / "star.png", gone)
    with qtbot.waitSignal(w.state.imageChanged, timeout=60_000):
        assert w.state.load_image(str(gone))
    w.state.load_image("sample:circle")
    gone.unlink()
    with qtbot.waitSignal(w.state.error, timeout=60_000):
        _recent_actions(w)[str(gone.resolve())].trigger()
    assert w.state.image_key == "sample:circle"
    assert str(gone.resolve()) not in w.state.recent.items("images")
    assert "Cannot open image" in w.statusBar().currentMessage()


def test_recent_files_are_kept_in_the_settings_file_for_the_next_start(qtbot, main_window, tmp_path):
    from advlens.recent import RecentFiles
    from advlens.state import app_settings

    image = tmp_path / "kept.png"
    shutil.copy(samples_dir() / "bars.png", image)
    with qtbot.waitSignal(main_window.state.imageChanged, timeout=60_000):
        main_window.state.load_image(str(image))
    assert RecentFiles(app_settings()).items("images")[0] == str(image.resolve())
    app_settings().setValue("recent/images", "not json [")
    assert RecentFiles(app_settings()).items("images") == []  # a damaged entry reads as empty, no crash


def test_the_theme_menu_recolours_the_window_and_its_plots_and_is_remembered(qtbot, main_window):
    from advlens.state import app_settings

    w = main_window
    try:
        w.set_theme("dark")
        palette = QApplication.instance().palette()
        assert palette.color(QPalette.ColorRole.Window).lightness() < 80
        assert w.plots.graphics.backgroundBrush().color().lightness() < 50
        assert app_settings().value("view/theme") == "dark"
        checked = [a.data() for a in w.theme_group.actions() if a.isChecked()]
        assert checked == ["dark"]
        w.set_theme("light")
        assert QApplication.instance().palette().color(QPalette.ColorRole.Window).lightness() > 180
        assert w.plots.graphics.backgroundBrush().color().lightness() > 240
        assert w.bars.plot.backgroundBrush().color().lightness() > 240
    finally:
        w.set_theme("system")
