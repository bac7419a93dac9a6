"""Start the desktop app: `advlens`, `advlens gui [--demo] [--run] [--screenshot PNG]`, `python -m advlens`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtWidgets import QApplication

from advlens.engine.errors import describe_unexpected

SCREENSHOT_SIZE = (1600, 900)
SCREENSHOT_TIMEOUT_MS = 120_000
log = logging.getLogger("advlens")


def paint_on_the_gui_thread() -> None:
    """Keep Qt's painting on the GUI thread: call before the QApplication exists.

    Qt's raster painter splits a large fill or image draw over a thread pool of its own (a thread per
    core) and waits for it. During a run every core but one belongs to the engine, so those helpers only
    take time from the attack, and the GUI thread waits for them to be scheduled (measured offscreen,
    with the raster-format images: 5.8 → 5.5 ms of GUI-process CPU per drawn frame, and no helper
    threads competing with the engine). A value the person set themselves is left as it is.
    """
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")


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
                  remember_layout: bool = True, engine=None, staged: bool = False):
    """The Explorer window with the demo model and a sample asked for (or what was asked for).

    The window needs no torch: it is built at once and shows the sample (drawn by Pillow); the engine
    process starts beside it (`engine`, an EngineLink, or a new one) and the model's clean prediction
    appears when torch has loaded there. `staged`: the shell paints first and the Explorer's plots are
    built right after (what `advlens gui` does, so the window is on screen at once). With `remember_layout`
    and neither an image nor a model asked for, the last session (saved on close) is restored.
    """
    from advlens.engine_link import EngineLink
    from advlens.main_window import MainWindow
    from advlens.state import ExplorerState

    link = engine if engine is not None else EngineLink()
    if link.client.state == "stopped":
        link.start()
    state = ExplorerState(link)
    state.load_image(image or "sample:star")  # a sample is drawn at once (Pillow): the first picture shown
    state.load_model(model or "demo")
    window = MainWindow(state, remember_layout=remember_layout, staged=staged)
    if remember_layout and image is None and model is None:
        window.sessions.restore_last()  # what the window held when it last closed; a bad file: one status line
    return window


class StartupTiming:
    """$ADVLENS_TIMING=FILE: wall-clock times (time.time()) of the window's first paint, the engine's
    readiness, the first clean prediction and the first attack frame, one JSON object per line, for
    `advlens bench --gui` to measure start-up from the outside."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.seen: set[str] = set()

    def mark(self, event: str, **extra: float) -> None:
        if event in self.seen:
            return
        self.seen.add(event)
        import json
        import time

        with self.path.open("a") as handle:  # wall clock, and this process's CPU time so far (load-independent)
            handle.write(json.dumps({"event": event, "t": time.time(), "cpu": time.process_time(), **extra}) + "\n")

    def watch(self, window) -> None:
        from PySide6.QtCore import QEvent, QObject

        timing, app = self, QApplication.instance()

        class FirstPaint(QObject):
            """The first paint event of any of the window's widgets (then it stops listening)."""

            def eventFilter(self, obj, event):  # noqa: N802 - Qt override
                if event.type() == QEvent.Type.Paint and hasattr(obj, "window") and obj.window() is window:
                    timing.mark("window_painted")
                    app.removeEventFilter(self)
                return False

        window._first_paint = FirstPaint(window)
        app.installEventFilter(window._first_paint)
        state = window.state
        state.link.ready.connect(lambda info: self.mark("engine_ready", engine_s=info.startup_s,
                                                        engine_cpu_s=info.startup_cpu_s))
        state.frameReady.connect(lambda frame: self.mark("first_attack_frame" if frame.adversarial is not None
                                                         else "clean_prediction" if frame.clean_label else "image"))


def when_ready(window, action, poll_ms: int = 50) -> QTimer:
    """Call `action()` once the model is loaded and the input's clean prediction is shown (--run)."""
    timer = QTimer(window)

    def check() -> None:
        state = window.state
        if state.model is not None and state.input_ready and state.prediction is not None:
            timer.stop()
            action()

    timer.timeout.connect(check)
    timer.start(poll_ms)
    return timer


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
    from advlens.theme import apply_theme, set_choice

    logging.basicConfig(level=logging.WARNING)
    paint_on_the_gui_thread()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AdvLens")
    app.setOrganizationName("AdvLens")
    app.setDesktopFileName("advlens")
    app.setWindowIcon(app_icon())
    set_choice(str(app_settings().value("view/theme", "system")))
    apply_theme(app)
    screenshot: Path | None = getattr(args, "screenshot", None)
    window = create_window(image=getattr(args, "image", None), model=getattr(args, "model", None),
                           remember_layout=screenshot is None, staged=True)
    install_error_hooks(window)
    if os.environ.get("ADVLENS_TIMING"):
        StartupTiming(os.environ["ADVLENS_TIMING"]).watch(window)
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
            when_ready(window, lambda: QTimer.singleShot(300, shoot_and_quit))
    if getattr(args, "fullscreen", False):
        window.set_demo_mode(True)
    elif screenshot is not None:
        window.show()
    else:
        window.show_initial()
    if getattr(args, "run", False):
        when_ready(window, window.state.start)
    code = app.exec()
    window.state.shutdown()
    # Qt deletes the window's tree now, parents before children, while Python still runs: left to the
    # interpreter's exit, PySide frees the plot items in any order and a resize on a half-deleted axis crashed
    window.close()  # also ends the engine process and waits for it (after app.quit() too)
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return exit_code["value"] or code
