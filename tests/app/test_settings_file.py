"""The app's settings file is replaced by rename, never written in place."""

from __future__ import annotations


def test_app_settings_are_synced_by_rename(tmp_path, monkeypatch):
    """Qt's atomic sync writes a temporary file and renames it: an interrupted write leaves the old file."""
    monkeypatch.setenv("ADVLENS_SETTINGS", str(tmp_path / "settings.ini"))
    from advlens.state import app_settings

    settings = app_settings()
    settings.setValue("model_cards/x", '{"name": "a"}')
    settings.sync()
    before = (tmp_path / "settings.ini").stat().st_ino
    settings = app_settings()
    settings.setValue("model_cards/x", '{"name": "b"}')
    settings.sync()
    assert (tmp_path / "settings.ini").stat().st_ino != before
    assert app_settings().value("model_cards/x") == '{"name": "b"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.ini"]


