"""Settings and saved files are replaced through a temporary file and a rename, never written in place."""

from __future__ import annotations

import os

import pytest

from advlens.engine.images import atomic_write_bytes


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    path.write_bytes(b"old settings")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(path, b"new settings" * 1000)
    assert path.read_bytes() == b"old settings"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_a_successful_write_replaces_the_file_by_rename(tmp_path):
    path = tmp_path / "recent.json"
    path.write_bytes(b"[]")
    before = path.stat().st_ino
    atomic_write_bytes(path, b'["a.png"]')
    assert path.read_bytes() == b'["a.png"]' and path.stat().st_ino != before


