"""The window and its engine process: no torch in the GUI process, a crashing or hanging model costs the
engine only (one line, a restart, the image and the last run kept), Stop ends a forward pass that does
not return, Live reruns on every change, and the lab tabs are built when first opened."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QTimer

from tests.app.conftest import wait_until_ready
from tests.engine.engine_models import ABORT_SIZE, HANG_SIZE, AbortNet, HangNet, save_trusted

pytestmark = pytest.mark.gui

WAIT_MS = 180_000  # a bound for a stuck test (a restarted engine loads torch again), never a synchronisation


def _load_trusted(qtbot, window, network, path):
    demo = window.state.model
    save_trusted(network, path, demo.labels, demo.mean, demo.std)
    with qtbot.waitSignal(window.state.modelChanged, timeout=WAIT_MS):
        window.state.load_model(str(path), trust_pickle=True)
    wait_until_ready(qtbot, window)


def test_the_gui_process_never_imports_torch(tmp_path):
    """The window is built, the demo model loads, an attack runs to its end, every tab opens: torch only
    in the engine."""
    script = textwrap.dedent("""
        import sys
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from advlens.gui import create_window, when_ready
        window = create_window(remember_layout=False)
        window.show()
        state = window.state
        state.set_settings({"steps": 5, "resolution": 24})
        ended = []
        state.runEnded.connect(lambda event: (ended.append(event.kind), app.quit()))
        when_ready(window, state.start)
        QTimer.singleShot(240_000, app.quit)
        app.exec()
        pid = state.link.client.pid
        for tab in range(window.tabs.count()):  # every tab built and shown: their states and requests too
            window.tabs.setCurrentIndex(tab)
        window.close()
        print(ended, sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision'}))
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ADVLENS_RUNS_DIR=str(tmp_path / "runs"),
               ADVLENS_SETTINGS=str(tmp_path / "settings.ini"), ADVLENS_ENGINE_THREADS="1")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['finished'] []"


def test_a_model_that_aborts_costs_the_engine_only_and_the_window_goes_on(qtbot, own_window, demo_model, tmp_path):
    w = own_window
    _load_trusted(qtbot, w, AbortNet(demo_model.network), tmp_path / "abort.pt")
    w.controls.set_config({"steps": 5, "resolution": 24})
    with qtbot.waitSignal(w.state.runEnded, timeout=WAIT_MS):
        w.run_action.trigger()  # a good run first: the last run is kept after the crash
    kept = w.state.last_record
    first_pid = w.state.link.client.pid
    w.controls.set_config({"resolution": ABORT_SIZE})
    qtbot.waitUntil(lambda: w.state.input_ready and w.state.input.shape[0] == ABORT_SIZE, timeout=WAIT_MS)
    with qtbot.waitSignal(w.state.link.lost, timeout=WAIT_MS) as lost:
        w.run_action.trigger()
    message, restarting = lost.args
    assert restarting and "aborted" in message and "\n" not in message
    assert "aborted" in w.statusBar().currentMessage()
    # the engine restarts and loads the same model again; the image, settings and last run stay
    qtbot.waitUntil(lambda: w.state.link.client.pid != first_pid and w.state.link.is_ready, timeout=WAIT_MS)
    wait_until_ready(qtbot, w)
    assert w.state.model.name == "abort" and w.state.config.resolution == ABORT_SIZE
    assert w.state.last_record is kept and w.run_action.isEnabled()


def test_stop_ends_a_forward_pass_that_never_returns_and_the_window_answers_meanwhile(qtbot, own_window,
                                                                                      demo_model, tmp_path):
    w = own_window
    _load_trusted(qtbot, w, HangNet(demo_model.network, str(tmp_path)), tmp_path / "hang.pt")
    w.controls.set_config({"steps": 50, "resolution": HANG_SIZE})
    qtbot.waitUntil(lambda: w.state.config.resolution == HANG_SIZE, timeout=WAIT_MS)
    pid = w.state.link.client.pid
    w.run_action.trigger()
    qtbot.waitUntil(lambda: (tmp_path / "hanging").exists(), timeout=WAIT_MS)  # inside the forward pass
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    qtbot.waitUntil(lambda: len(ticks) >= 3, timeout=WAIT_MS)  # the GUI's event loop runs meanwhile
    with qtbot.waitSignal(w.state.runEnded, timeout=WAIT_MS) as ended:
        w.stop_action.trigger()
    timer.stop()
    assert ended.args[0].kind == "cancelled" and "did not stop" in ended.args[0].message
    assert w.state.link.client.pid != pid  # the hung engine was ended; a new one starts
    qtbot.waitUntil(lambda: w.state.link.is_ready, timeout=WAIT_MS)
    assert w.run_action.isEnabled()


def test_live_reruns_on_every_change_and_supersedes_the_run_under_way(qtbot, main_window):
    w = main_window
    w.controls.set_config({"attack": "pgd", "norm": "linf", "steps": 100_000, "resolution": 24, "eps": 4 / 255})
    w.live_action.setChecked(True)
    try:
        qtbot.waitUntil(lambda: w.state.handle is not None and w.state.handle.telemetry is not None, timeout=60_000)
        first = w.state.handle
        assert w.controls.isEnabled()  # with Live the controls stay usable during a run
        w.controls.eps.setValue(6.0)
        assert w.state.handle is not first  # a new run at once
        qtbot.waitUntil(lambda: first.done(), timeout=60_000)
        assert first.outcome.kind == "cancelled"  # the engine cancelled the superseded run
        second = w.state.handle
        qtbot.waitUntil(lambda: second.telemetry is not None and second.telemetry.shared.steps_pushed > 0,
                        timeout=60_000)
        assert second.job.config["attack"]["eps"] == pytest.approx(6 / 255)
    finally:
        w.live_action.setChecked(False)
        w.state.stop()


def test_the_analysis_and_lab_tabs_are_built_when_first_opened(main_window):
    w = main_window
    assert w._built_tabs == {}  # nothing of theirs was built with the window
    index = [w.tabs.tabText(i) for i in range(w.tabs.count())].index("Stability lab")
    w.tabs.setCurrentIndex(index)
    assert "stability" in w._built_tabs and w.tabs.currentWidget() is w.stability_panel
    assert set(w._built_tabs) == {"stability"}
