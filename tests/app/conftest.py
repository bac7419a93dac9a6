"""GUI fixtures: a real Explorer window on the demo, offscreen (the root conftest sets the platform)."""

from __future__ import annotations

import pytest


@pytest.fixture
def main_window(qtbot, tmp_path, monkeypatch):
    """A real Explorer window on the demo, with its run records and settings in a temp folder."""
    monkeypatch.setenv("ADVLENS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("ADVLENS_SETTINGS", str(tmp_path / "settings.ini"))
    from advlens.gui import create_window
    from advlens.theme import configure_plots

    configure_plots()
    window = create_window(remember_layout=False)
    qtbot.addWidget(window)
    window.resize(1400, 850)
    window.show()
    yield window
    window.close()
