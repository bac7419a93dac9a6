"""Full-screen demo mode: in and out any number of times, idle and running, light and dark."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest
from PySide6.QtCore import QObject, SignalInstance
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui

WAIT = 60_000  # ms: a bound for a stuck test, never a synchronisation


def _qt_bases(cls: type) -> list[type]:
    return [base for base in cls.__mro__ if base.__module__.startswith("PySide6")]


def shadowed_qt_methods(root: QObject) -> list[str]:
    """Python attributes of our objects that hide a Qt method of the same name.

    Shiboken calls a Python attribute named like a C++ virtual as its override: `ResolutionPanel.metric`
    (a combo box) stood in for `QWidget.metric()`, which Qt calls whenever a font changes, and the
    TypeError inside that call crashed the app (the full-screen segfault).
    """
    found = []
    for obj in [root, *root.findChildren(QObject)]:
        for name, value in vars(obj).items():
            if isinstance(value, SignalInstance):
                continue
            for base in _qt_bases(type(obj)):
                if name in vars(base) and callable(vars(base)[name]):
                    found.append(f"{type(obj).__name__}.{name} hides {base.__name__}.{name}()")
                    break
    return sorted(set(found))


def test_no_attribute_of_ours_hides_a_qt_method(main_window):
    from advlens.widgets.model_card_dialog import ModelCardDialog
    from advlens.widgets.run_compare import RunCompareDialog
    from advlens.widgets.trust_dialog import TrustFileDialog

    w = main_window
    for panel in (w.analysis_panel, w.resolution_panel, w.stability_panel):  # tabs are built when first opened
        assert panel is not None
    dialogs = [RunCompareDialog(w), TrustFileDialog("model.pt", "a pickle", w),  # the dialogs count too
               ModelCardDialog("model.onnx", {}, w.state.label_presets(), [], w)]
    roots = [w, *dialogs]
    assert [problem for root in roots for problem in shadowed_qt_methods(root)] == []


def test_demo_mode_enters_and_leaves_again_and_again_idle_and_running_in_both_themes(qtbot, main_window):
    w = main_window
    app = QApplication.instance()
    normal = app.font().pointSizeF()
    try:
        for theme in ("light", "dark"):
            w.set_theme(theme)
            for _ in range(2):
                w.fullscreen_action.trigger()
                assert w.demo_mode and w.fullscreen_action.isChecked()
                assert app.font().pointSizeF() >= normal * 1.25
                w.fullscreen_action.trigger()
                assert not w.demo_mode and not w.fullscreen_action.isChecked()
                assert app.font().pointSizeF() == pytest.approx(normal)
        w.controls.steps.setValue(200)
        with qtbot.waitSignal(w.state.runEnded, timeout=WAIT):
            w.state.start()
            for _ in range(4):
                qtbot.waitUntil(lambda: w.state.last_frame is not None and w.state.last_frame.step > 0,
                                timeout=WAIT)
                w.fullscreen_action.trigger()
            w.state.stop()
        assert not w.demo_mode
    finally:
        w.set_demo_mode(False)
        w.set_theme("system")


def _gui_env(tmp_path, platform: str) -> dict:
    import os

    env = {"QT_QPA_PLATFORM": platform, "ADVLENS_RUNS_DIR": str(tmp_path / "runs"),
           "ADVLENS_SETTINGS": str(tmp_path / "settings.ini"), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    return env


TOGGLES = 6  # even: the run ends in full screen, so the screenshot is the whole screen


def _demo_command(out) -> list[str]:
    return [sys.executable, "-m", "advlens", "gui", "--demo", "--fullscreen", "--run", "--screenshot", str(out),
            "--toggle-fullscreen", str(TOGGLES)]


def _check_demo_run(stdout: str, out, screen: tuple[int, int]) -> None:
    import re

    import numpy as np
    from PIL import Image

    found = re.search(r"full screen toggled (\d+) times, (\d+) while the attack ran", stdout)
    assert found, stdout
    assert int(found.group(1)) == TOGGLES and int(found.group(2)) >= 1
    with Image.open(out) as image:
        assert image.size == screen
        assert len(np.unique(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)) > 100


def test_full_screen_demo_run_toggled_again_and_again_exits_cleanly_offscreen(tmp_path):
    import json

    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "projector", "x": 0, "y": 0, "width": 1024, "height": 768,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    out = tmp_path / "demo.png"
    result = subprocess.run(_demo_command(out), capture_output=True, text=True, timeout=300,
                            env=_gui_env(tmp_path, f"offscreen:configfile={config}"))
    assert result.returncode == 0, result.stderr
    _check_demo_run(result.stdout, out, (1024, 768))


@pytest.mark.skipif(shutil.which("xvfb-run") is None or shutil.which("openbox") is None,
                    reason="needs xvfb-run and openbox (installed by .ci/run)")
def test_full_screen_demo_run_toggled_again_and_again_exits_cleanly_under_x_with_a_window_manager(tmp_path):
    """A real X server and window manager: openbox starts the app once it manages the screen, and reports
    the app's exit status through a file when the app ends."""
    out, status = tmp_path / "demo.png", tmp_path / "status"
    app = " ".join(shlex.quote(part) for part in _demo_command(out))
    startup = f"sh -c {shlex.quote(f'{app} > {tmp_path}/out.txt 2> {tmp_path}/err.txt; echo $? > {status}; openbox --exit')}"
    result = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", "openbox", "--sm-disable",
                             "--startup", startup], capture_output=True, text=True, timeout=300,
                            env=_gui_env(tmp_path, "xcb"))
    assert status.exists(), result.stderr
    stderr = (tmp_path / "err.txt").read_text()
    assert status.read_text().strip() == "0", stderr
    _check_demo_run((tmp_path / "out.txt").read_text(), out, (1024, 768))
