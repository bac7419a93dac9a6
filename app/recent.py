"""Recently opened images and models, kept in the app's settings (written by rename, never in place)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QSettings

KINDS = ("images", "models")
LIMIT = 10


class RecentFiles:
    """Newest first, no duplicates, at most `LIMIT` per kind; a damaged entry reads as an empty list."""

    def __init__(self, settings: QSettings):
        self.settings = settings

    def _key(self, kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind of recent file: {kind}")
        return f"recent/{kind}"

    def items(self, kind: str) -> list[str]:
        raw = self.settings.value(self._key(kind), "[]")
        try:
            values = json.loads(raw) if isinstance(raw, str) else []
        except ValueError:
            return []
        return [v for v in values if isinstance(v, str)][:LIMIT] if isinstance(values, list) else []

    def _store(self, kind: str, values: list[str]) -> None:
        self.settings.setValue(self._key(kind), json.dumps(values[:LIMIT]))
        self.settings.sync()

    def add(self, kind: str, path: str | Path) -> None:
        text = str(Path(path).resolve())
        self._store(kind, [text] + [v for v in self.items(kind) if v != text])

    def remove(self, kind: str, path: str | Path) -> None:
        self._store(kind, [v for v in self.items(kind) if v != str(path)])

    def clear(self) -> None:
        for kind in KINDS:
            self._store(kind, [])
