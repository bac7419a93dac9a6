"""File ▸ Save/Open session, the last session restored at start, the Presets menu and Settings ▸ Reset.

Design note. All four put a `RunConfig` (and a tab) into the window the way a person would: the model and
the image are asked for through `ExplorerState.load_model` / `load_image`, and the settings go through the
Explorer's controls (`AttackControls.set_config`, whose `changed` hands them to `ExplorerState`), so what is
shown is what runs. Settings wait for a model being loaded: its class names decide the target box, and a
model with a fixed input size decides the resolution. A session file that is missing, damaged or hostile
is one status-line message and the window stays on its defaults (session_file.py checks it as data).

The Analysis and lab tabs are built when first opened (main_window.py), so their settings from a session
go into a tab's panel if it is built and wait in `_pending` until it is if not; a session saved before a
tab is built holds what waits for it (else that tab's defaults, which is what it would show).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMenuBar, QMessageBox

from advlens.engine.config import AttackConfig, RunConfig
from advlens.engine.errors import AdvLensError
from advlens.engine.samples import SAMPLE_PREFIX, sample_names
from advlens.help_actions import current_tab_key, show_tab
from advlens.presets import PRESETS, Preset
from advlens.session_file import Session, SessionError, default_session_path, load_session, save_session
from advlens.state import app_settings
from advlens.tab_settings import TAB_SETTINGS, AnalysisSettings, ResolutionSettings, StabilitySettings

TabSettings = AnalysisSettings | ResolutionSettings | StabilitySettings

SESSION_FILTER = "AdvLens session (*.json);;All files (*)"
KEPT_SETTINGS = ("recent", "model_cards")  # history and cards a person confirmed: not settings, kept by Reset
STATUS_MS = 15000
log = logging.getLogger("advlens")


class SessionActions(QObject):
    """Sessions, presets and reset for one main window."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self._waiting: dict | None = None  # settings to apply once the model being loaded is in
        self._device: str | None = None  # a device to choose once the engine says which it has
        self._pending: dict[str, TabSettings] = {}  # settings for tabs not built yet, applied when they are
        self.last_notes: list[str] = []
        self.state.library.loaded.connect(self._on_model_loaded)
        self.state.library.failed.connect(self._on_model_failed)
        self.state.link.ready.connect(self._on_engine_ready)

    # ------------------------------------------------------------------ menus
    def add_file_actions(self, menu: QMenu) -> None:
        w = self.window
        self.open_action = w._action("Op&en session…", None, self.open_dialog,  # noqa: SLF001
                                     "Open a saved session: model, image, every setting and the tab", menu)
        self.save_action = w._action("Sa&ve session…", "Ctrl+S", self.save_dialog,  # noqa: SLF001
                                     "Save the model, the image, every setting and the tab as a small JSON file",
                                     menu)

    def add_presets_menu(self, bar: QMenuBar) -> QMenu:
        """A top-level Presets menu, one entry per preset in presets.py (Ctrl+1, Ctrl+2, …)."""
        menu = bar.addMenu("&Presets")
        menu.setToolTipsVisible(True)
        self.presets_menu = menu
        self.preset_actions = {}
        for preset in PRESETS:
            action = self.window._action(preset.name, preset.shortcut or None,  # noqa: SLF001
                                         lambda _=False, p=preset: self.apply_preset(p), preset.description, menu)
            self.preset_actions[preset.name] = action
        return menu

    def add_reset_action(self, menu: QMenu) -> None:
        menu.addSeparator()
        self.reset_action = self.window._action(  # noqa: SLF001
            "&Reset settings…", None, self.reset_dialog,
            "Every setting back to its default: attack, the Analysis and lab tabs, theme, window layout, sweep "
            "scheduler (recent files and model cards are kept)", menu)

    # ------------------------------------------------------------------ what the window holds
    def current_session(self) -> Session:
        config = RunConfig.from_dict(self.state.config.to_dict())
        return Session(config=config, tab=current_tab_key(self.window),
                       **{key: self.tab_settings(key) for key in TAB_SETTINGS})

    def tab_settings(self, key: str) -> TabSettings | None:
        """What the tab `key` holds: read from its panel when it is built, else what waits for it, else its
        defaults. None when the panel holds something a session could not read back (a typo in a list of
        sizes): saving it would make the whole file unreadable, so that tab is left out of it."""
        built = self.window._built_tabs.get(key)  # noqa: SLF001
        if built is None:
            return self._pending.get(key) or TAB_SETTINGS[key]()
        panel, state, _presenter = built
        if key == "analysis":
            values = panel.options() | {"unchecked": sorted(state.choice.unchecked)}
        elif key == "resolution":
            values = panel.settings()
        else:
            values = panel.options()
        try:
            return TAB_SETTINGS[key].from_dict(values)
        except AdvLensError as exc:
            log.info("the %s tab's settings are left out of the session: %s", key, exc)
            return None

    def apply_tab_settings(self, key: str, settings: TabSettings) -> None:
        """Into the tab's panel (and the transfer choice) if the tab is built, else kept until it is."""
        built = self.window._built_tabs.get(key)  # noqa: SLF001
        if built is None:
            self._pending[key] = settings
            return
        self._pending.pop(key, None)
        panel, state, _presenter = built
        panel.set_options(settings.to_dict())
        if key == "analysis":
            state.choice.unchecked = set(settings.unchecked)
            state.candidatesChanged.emit()

    def tab_built(self, key: str) -> None:
        """main_window built the tab `key`: the settings a session left for it go in now."""
        settings = self._pending.pop(key, None)
        if settings is not None:
            self.apply_tab_settings(key, settings)

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, STATUS_MS)

    # ------------------------------------------------------------------ save / open
    def save(self, path: str | Path) -> bool:
        try:
            save_session(self.current_session(), path)
        except OSError as exc:
            self.window.show_error("Cannot save the session", f"{path}: {exc.strerror or exc}")
            return False
        self._status(f"Saved the session to {path}")
        return True

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", "advlens-session.json", SESSION_FILTER)
        if path:
            self.save(path)

    def open(self, path: str | Path) -> bool:
        """Put a saved session into the window; a bad file is one message and nothing changes."""
        try:
            session = load_session(path)
        except SessionError as exc:
            self.window.show_error("Cannot open the session", str(exc))
            return False
        self._apply_tabs(session)
        notes = self.apply(session.config, session.tab)
        self._status(f"Opened the session {Path(path).name}" + (f" — {'; '.join(notes)}" if notes else ""))
        return True

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", "", SESSION_FILTER)
        if path:
            self.open(path)

    def restore_last(self, path: str | Path | None = None) -> bool:
        """At start: the session saved when the window last closed. None there (a first start): nothing said.
        Missing parts, a damaged or a hostile file: one status-line message, and the defaults stay."""
        path = Path(path) if path is not None else default_session_path()
        if not path.exists() and not path.is_symlink():
            return False
        try:
            session = load_session(path)
        except SessionError as exc:
            self._status(f"The last session was not restored ({exc}); starting on the defaults")
            return False
        self._apply_tabs(session)
        notes = self.apply(session.config, session.tab)
        if notes:
            self._status(f"Restored the last session, except: {'; '.join(notes)}")
        return True

    def save_last(self, path: str | Path | None = None) -> bool:
        """When the window closes: what it holds, for the next start. A failure is logged, never raised."""
        path = Path(path) if path is not None else default_session_path()
        try:
            save_session(self.current_session(), path)
        except OSError as exc:
            log.warning("cannot save the session to %s: %s", path, exc)
            return False
        return True

    def _apply_tabs(self, session: Session) -> None:
        """The tabs' settings a session holds; a tab it does not mention (an older file) keeps its own."""
        for key in TAB_SETTINGS:
            settings = getattr(session, key)
            if settings is not None:
                self.apply_tab_settings(key, settings)

    # ------------------------------------------------------------------ presets
    def apply_preset(self, preset: Preset) -> None:
        """A demo's model, image and attack; how the machine computes (device, precision) stays."""
        notes = self.apply(preset.config(), "explorer", compute=False)
        text = f"Preset '{preset.name}': {preset.description} Press Run (F5)."
        self._status(text + (f" ({'; '.join(notes)})" if notes else ""))

    # ------------------------------------------------------------------ reset
    def reset_dialog(self) -> None:
        answer = QMessageBox.question(
            self.window, "Reset settings",
            "Put every setting back to its default?\n\nThe attack and image settings, the theme, the window "
            "layout and the sweep scheduler are reset; the model and image stay open. Recent files and the "
            "model cards you confirmed are kept.",
            QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Reset:
            self.reset_settings()

    def reset_settings(self) -> None:
        """Defaults everywhere a setting lives: the app's QSettings (all but `KEPT_SETTINGS`), the Explorer's
        attack and image settings (each attack's own default steps again), the Analysis and lab tabs' settings,
        the theme, Live, the side panels."""
        settings = app_settings()
        for key in settings.allKeys():
            if key.split("/", 1)[0] not in KEPT_SETTINGS:
                settings.remove(key)
        settings.sync()
        w = self.window
        if w.live_action.isChecked():
            w.live_action.setChecked(False)
        w.set_theme("system")
        w.set_side_panels_shown(True)
        if w.explorer is not None:
            w.controls.forget_steps()
        defaults = replace(RunConfig(), model=self.state.config.model, image=self.state.config.image)
        for key, settings_class in TAB_SETTINGS.items():
            self.apply_tab_settings(key, settings_class())
        self.apply(defaults, None)
        self._status("Settings reset to their defaults")

    # ------------------------------------------------------------------ applying a configuration
    def apply(self, config: RunConfig, tab: str | None = None, compute: bool = True) -> list[str]:
        """Load the config's model and image if they differ from the current ones, then its settings (once
        the model is in), then bring `tab` forward. Returns what could not be applied, in words."""
        state = self.state
        notes: list[str] = []
        if state.is_running:
            state.stop()
        if config.model != state.config.model:
            problem = self.window.runs.model_problem(config.model)
            if problem is not None:
                notes.append(problem.replace("its model", "the model"))
            else:
                state.load_model(config.model)
        spec = str(config.image)
        if spec != state.image_key:
            known = spec[len(SAMPLE_PREFIX):] in sample_names() if spec.startswith(SAMPLE_PREFIX) else \
                Path(spec).is_file()
            if known:
                state.load_image(spec)
            else:
                notes.append(f"the image '{Path(spec).name}' cannot be found")
        values = config.attack.to_dict() | {"resolution": config.resolution,
                                            "resample_filter": config.resample_filter, "fit": config.fit}
        if compute:
            values |= {"fast": config.fast, "precision": config.precision, "channels_last": config.channels_last}
            if config.device != state.config.device:
                self._device = config.device
        if state.library.loading:
            self._waiting = values
        else:
            self._set_values(values)
        if self._device is not None and state.link.is_ready:
            self._choose_device()
        if tab is not None:
            show_tab(self.window, tab)
        self.last_notes = notes
        return notes

    def _set_values(self, values: dict) -> None:
        """Through the Explorer's controls when they exist (their `changed` updates the state), else the state."""
        self._waiting = None
        if self.window.explorer is not None:
            self.window.controls.set_config(values)
        else:
            self.state.set_settings(values)
        # the controls show budgets rounded to their steps: the state keeps the exact values asked for
        wanted = AttackConfig.from_dict({k: v for k, v in values.items() if k in AttackConfig.__dataclass_fields__})
        if self.state.model is None or wanted.target is None or wanted.target < self.state.model.num_classes:
            self.state.config.attack = wanted

    def _choose_device(self) -> None:
        device, self._device = self._device, None
        if device not in self.state.devices() or device == self.state.config.device:
            return
        if self.window.explorer is not None:
            self.window.controls.set_devices(self.state.devices(), device)
        self.state.set_settings({"device": device})

    def _on_model_loaded(self, _info) -> None:
        if self._waiting is not None:
            self._set_values(self._waiting)

    def _on_model_failed(self, *_args) -> None:
        self._waiting = None  # the old model stays, and the person has been told why

    def _on_engine_ready(self, _info) -> None:
        if self._device is not None:
            self._choose_device()

