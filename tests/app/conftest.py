"""GUI fixtures: a real Explorer window on the demo, offscreen (the root conftest sets the platform).

The windows of a test session share one engine process (`engine_link`), as starting torch for every
test would take most of the session; a test that needs its own engine (crash, close) makes one.
"""

from __future__ import annotations

import pytest

READY_MS = 180_000  # a bound for a cold engine (torch loads first), never a synchronisation


@pytest.fixture(scope="session")
def engine_link(qapp):
    from advlens.engine.protocol import EngineSettings
    from advlens.engine_link import EngineLink

    link = EngineLink(EngineSettings(threads=1), cancel_grace_s=5.0)  # generous: a loaded CI machine is slow
    link.shared = True
    link.start()
    yield link
    link.close()


def wait_until_ready(qtbot, window, timeout: int = READY_MS) -> None:
    """Until the model is loaded and the input's clean prediction is shown."""
    state = window.state
    qtbot.waitUntil(lambda: state.model is not None and state.input_ready and state.prediction is not None
                    and not state.library.loading, timeout=timeout)


def _open_window(qtbot, tmp_path, monkeypatch, engine=None):
    """A real Explorer window on the demo, runs and settings in a temp folder, shown and ready."""
    monkeypatch.setenv("ADVLENS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ADVLENS_SETTINGS", str(tmp_path / "settings.ini"))
    from advlens.gui import create_window
    from advlens.theme import configure_plots

    configure_plots()
    window = create_window(remember_layout=False, engine=engine)  # None: the window starts its own engine
    qtbot.addWidget(window)
    window.resize(1400, 850)
    window.show()
    wait_until_ready(qtbot, window)
    return window


@pytest.fixture
def main_window(qtbot, tmp_path, monkeypatch, engine_link):
    """A real Explorer window on the demo, with its run records and settings in a temp folder."""
    window = _open_window(qtbot, tmp_path, monkeypatch, engine_link)
    yield window
    window.close()


@pytest.fixture
def own_window(qtbot, tmp_path, monkeypatch):
    """A window with its own engine process (closing the window ends it): for crash, hang and close tests."""
    monkeypatch.setenv("ADVLENS_ENGINE_THREADS", "1")
    window = _open_window(qtbot, tmp_path, monkeypatch)
    yield window
    window.close()
