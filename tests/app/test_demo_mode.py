"""Full-screen demo mode: in and out any number of times, idle and running, light and dark."""

from __future__ import annotations

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
                assert app.font().pointSizeF() > normal * 1.3
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
