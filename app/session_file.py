"""A saved GUI session: the Explorer's model, image and every run setting, the Analysis, Resolution lab
and Stability lab tabs' settings, and the tab in front.

Design note. A session is a small JSON file a person may keep, mail or find damaged, so it is data and
nothing else: read with `read_file` (a regular file of at most `MAX_SESSION_BYTES`, never a FIFO or a
device), parsed with `json`, its run configuration checked by the same schema as a run record's
(`record_schema.check_run_config`) and by the attack catalogue, and only then turned into a `RunConfig`;
the tabs' settings are checked field by field by tab_settings.py. Any fault is one `SessionError` line.
Version 1 files (before the tabs' settings were saved) still open: a tab a file does not mention is
None here, and the window keeps that tab's current settings. Nothing in it is executed and no trust is stored in it: a model
file it names is opened as any other (a pickle still asks "I trust this file").
Writes go through `atomic_write_bytes` (a temp file and a rename), so a crash never leaves half a file.
Qt-free, so the format can be tested and used without a window.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from advlens.engine.catalogue import check_attack
from advlens.engine.config import AttackConfig, RunConfig
from advlens.engine.errors import AdvLensError
from advlens.engine.files import read_file
from advlens.engine.images import atomic_write_bytes
from advlens.engine.record_schema import check_run_config
from advlens.tab_settings import TAB_SETTINGS, AnalysisSettings, ResolutionSettings, StabilitySettings

FORMAT = "advlens-session"
VERSION = 2  # 2: the Analysis and lab tabs' settings
MAX_SESSION_BYTES = 1 << 20  # a session is a few hundred bytes; anything near this is not one
SESSION_ENV = "ADVLENS_SESSION"
TABS = ("explorer", "analysis", "resolution", "stability")


class SessionError(AdvLensError):
    """A session file is missing, unreadable, damaged or not a session: one line for the status bar."""


@dataclass
class Session:
    """What `File ▸ Save session…` writes and the next start restores."""

    config: RunConfig = field(default_factory=RunConfig)
    tab: str = "explorer"
    analysis: AnalysisSettings | None = None  # None: not in the file (an older one); the tab keeps its own
    resolution: ResolutionSettings | None = None
    stability: StabilitySettings | None = None

    def to_json(self) -> str:
        data = {"format": FORMAT, "version": VERSION, "tab": self.tab, "config": self.config.to_dict()}
        for key in TAB_SETTINGS:
            settings = getattr(self, key)
            if settings is not None:
                data[key] = settings.to_dict()
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str, where: str = "session") -> Session:
        """The session in `text`, every field checked; SessionError naming the first fault otherwise."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: '[[[[…' nested beyond the parser
            raise SessionError(f"{where}: not JSON ({str(exc).splitlines()[0][:80]})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SessionError(f"{where}: not an AdvLens session file")
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
            raise SessionError(f"{where}: session format {version!r} (this AdvLens reads 1 to {VERSION})")
        tab = data.get("tab", "explorer")
        if tab not in TABS:
            raise SessionError(f"{where}: 'tab' must be one of {', '.join(TABS)}, got {str(tab)[:40]!r}")
        try:
            raw = check_run_config(data.get("config"), where)
            config = RunConfig.from_dict(raw)
            config.attack = check_attack(AttackConfig.from_dict(raw["attack"]))
        except (AdvLensError, TypeError, ValueError) as exc:
            raise SessionError(str(exc) if str(exc).startswith(where) else f"{where}: {exc}") from None
        tabs = {}
        for key, settings_class in TAB_SETTINGS.items():
            if key in data:
                try:
                    tabs[key] = settings_class.from_dict(data[key])
                except AdvLensError as exc:
                    raise SessionError(f"{where}: {exc}") from None
        return cls(config=config, tab=tab, **tabs)


def default_session_path() -> Path:
    """Where the last session is kept: $ADVLENS_SESSION; beside $ADVLENS_SETTINGS when that is set (tests,
    portable installs keep everything in one folder); else in the user's config folder."""
    if os.environ.get(SESSION_ENV):
        return Path(os.environ[SESSION_ENV])
    if os.environ.get("ADVLENS_SETTINGS"):
        return Path(os.environ["ADVLENS_SETTINGS"]).with_name("last-session.json")
    from platformdirs import user_config_path

    return user_config_path("advlens", appauthor=False) / "last-session.json"


def save_session(session: Session, path: str | os.PathLike) -> Path:
    """Write atomically (temp file + rename); OSError if the folder cannot be written."""
    path = Path(path)
    atomic_write_bytes(path, session.to_json().encode("utf-8"))
    return path


def load_session(path: str | os.PathLike) -> Session:
    """The session saved at `path`; SessionError with one line if it is missing, too large or damaged."""
    label = Path(path).name
    data = read_file(path, "a session file", SessionError, label=label, max_bytes=MAX_SESSION_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SessionError(f"{label}: not a text file") from None
    return Session.from_json(text, where=label)
