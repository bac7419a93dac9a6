"""Start the desktop app: `advlens`, `advlens gui [--demo] [--run] [--screenshot PNG]`, `python -m advlens`."""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from advlens.engine.errors import describe_unexpected

SCREENSHOT_SIZE = (1600, 900)
SCREENSHOT_TIMEOUT_MS = 120_000
log = logging.getLogger("advlens")


def app_icon():
    from PySide6.QtGui import QIcon

    from advlens import resources

    icon = QIcon()
    for png in sorted((Path(resources.__file__).parent / "icons").glob("advlens-*.png")):
        icon.addFile(str(png))
    return icon


def install_error_hooks(window) -> None:
    """Errors from any thread end in one place: the log and a dialog, never a silent hang."""

    def report(exc_type, exc, tb) -> None:
        log.error("unhandled error", exc_info=(exc_type, exc, tb))
        if window is not None:
            message = describe_unexpected(exc)
            QTimer.singleShot(0, lambda: window.show_error("Unexpected error", message))

    sys.excepthook = report
    threading.excepthook = lambda args: report(args.exc_type, args.exc_value, args.exc_traceback)


def create_window(demo: bool = True, image: str | None = None, model: str | None = None,
                  remember_layout: bool = True):
    """The Explorer window with the demo model and a sample loaded (or what was asked for)."""
    from advlens.main_window import MainWindow
    from advlens.state import ExplorerState

    state = ExplorerState()
    window = MainWindow(state, remember_layout=remember_layout)
    state.load_model(model or "demo")
    state.load_image(image or "sample:star")
    window.controls.set_config(state.settings())
    return window


def when_settled(window, then, limit_ms: int = 5000) -> None:
    """Call `then` once the window is in the state it asked for (a window manager applies full screen a little
    later) and its layouts ran, or after `limit_ms` at most."""
    timer = QTimer(window)
    timer.setInterval(50)
    waited = {"ms": 0}

    def settled() -> bool:
        if window.demo_mode != window.isFullScreen():
            return False
        screen = window.screen().geometry().size()
        return not window.demo_mode or window.size() == screen

    def check() -> None:
        waited["ms"] += timer.interval()
        if settled() or waited["ms"] >= limit_ms:
            timer.stop()
            QTimer.singleShot(100, then)  # the deferred fits (colour bars, captions) and a repaint

    timer.timeout.connect(check)
    timer.start()


class FullScreenToggler:
    """The hidden `--toggle-fullscreen N` of the tests: full-screen demo mode in and out through the window's
    own action, once per frame the running attack draws, and any toggles left when the run ends."""

    def __init__(self, window, count: int):
        self.window, self.left, self.done, self.while_running = window, max(count, 0), 0, 0
        if self.left:
            window.state.frameReady.connect(self._on_frame)

    def _toggle(self) -> None:
        self.window.fullscreen_action.trigger()
        self.left -= 1
        self.done += 1

    def _on_frame(self, _frame) -> None:
        if self.left and self.window.state.run_state == "running":
            self._toggle()
            self.while_running += 1

    def finish(self) -> None:
        if not (self.left or self.done):
            return
        while self.left:
            self._toggle()
        print(f"advlens: full screen toggled {self.done} times, {self.while_running} while the attack ran",
              flush=True)


def run_gui(args: argparse.Namespace) -> int:
    from advlens.state import app_settings
    from advlens.theme import apply_theme, configure_plots, set_choice

    logging.basicConfig(level=logging.WARNING)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AdvLens")
    app.setOrganizationName("AdvLens")
    app.setDesktopFileName("advlens")
    app.setWindowIcon(app_icon())
    set_choice(str(app_settings().value("view/theme", "system")))
    apply_theme(app)
    configure_plots()
    screenshot: Path | None = getattr(args, "screenshot", None)
    window = create_window(image=getattr(args, "image", None), model=getattr(args, "model", None),
                           remember_layout=screenshot is None)
    install_error_hooks(window)
    exit_code = {"value": 0}
    toggler = FullScreenToggler(window, int(getattr(args, "toggle_fullscreen", 0) or 0))
    if screenshot is not None:
        window.resize(*(getattr(args, "screenshot_size", None) or SCREENSHOT_SIZE))

        def shoot_and_quit() -> None:
            toggler.finish()
            when_settled(window, shoot)

        def shoot() -> None:
            ok = window.save_screenshot(screenshot)
            if not ok:
                sys.stderr.write(f"advlens: error: cannot write screenshot {screenshot}\n")
                exit_code["value"] = 1
            elif window.state.run_state == "failed":
                exit_code["value"] = 1
            app.quit()

        if getattr(args, "run", False):
            window.state.runEnded.connect(lambda _e: QTimer.singleShot(300, shoot_and_quit))

            def give_up() -> None:
                sys.stderr.write("advlens: error: the demo run did not end in time\n")
                exit_code["value"] = 1
                window.state.stop()
                shoot_and_quit()

            QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, give_up)
        else:
            QTimer.singleShot(800, shoot_and_quit)
    if getattr(args, "fullscreen", False):
        window.set_demo_mode(True)
    elif screenshot is not None:
        window.show()
    else:
        window.show_initial()
    if getattr(args, "run", False):
        QTimer.singleShot(200, window.state.start)
    if window.state.model is None:
        QMessageBox.warning(window, "AdvLens", "The demo model could not be loaded; open a model from the File menu.")
    code = app.exec()
    window.state.shutdown()
    # Qt deletes the window's tree now, parents before children, while Python still runs: left to the
    # interpreter's exit, PySide frees the plot items in any order and a resize on a half-deleted axis crashed
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return exit_code["value"] or code
