"""The Explorer's state: its settings, its image, its runs in the engine process, the frames the views draw.

Design note. The state holds no model and no tensor: the model is the `ModelLibrary`'s description
of what the engine loaded, the image is an `ImageSource` the engine reads, and a run is a
`RemoteJob` on the engine's 'explorer' lane. A timer (up to 60 Hz while a run is live) reads the
run's shared memory — the newest frame and the rows that arrived — and hands the views a `Frame`
(built Qt-free by `frames.py`); curves are rebuilt at most 10 times a second, decimated to the
plot's width, and the whole tick backs off if drawing takes more than a quarter of the GUI thread.
No signal is emitted per engine step, and nothing here waits for the engine.

With Live on, a change of budget, norm, steps or resolution starts a new run at once; the engine's
lane cancels the one under way (napari's slicer does the same with a superseded slice).
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from advlens.engine.catalogue import attack_names, attack_spec, check_attack, gradients_refusal
from advlens.engine.client import RemoteJob
from advlens.engine.config import AttackConfig, RunConfig
from advlens.engine.errors import AdvLensError, ImageLoadError
from advlens.engine.images import IMAGE_SUFFIXES, list_image_files, to_uint8
from advlens.engine.paths import new_record_path
from advlens.engine.protocol import AttackRunJob, ImageSource, ModelInfo, Prediction, PredictJob
from advlens.engine.samples import SAMPLE_PREFIX, sample_array, sample_label, sample_names
from advlens.engine_link import EngineLink
from advlens.frames import (
    PLOTTED,
    Frame,
    attack_frame,
    decimate,
    grow_ranges,
    idle_frame,
    label_of,
    plot_series,
    record_frame,
)
from advlens.model_library import EXPLORER_KEY, ModelLibrary
from advlens.recent import RecentFiles

FRAME_INTERVAL_MS = 16  # the fastest images and bars refresh (60 Hz)
MAX_FRAME_INTERVAL_MS = 100  # the slowest they may back off to
CURVE_INTERVAL_S = 0.1  # curves are rebuilt at most 10 times a second
GUI_SHARE_TARGET = (0.19, 0.24)  # share of one core the GUI thread may spend on a run's frames (its CPU time)
IDLE_POLL_MS = 20  # how often a pending prediction is looked at
LIVE_ATTACK_KEYS = {"eps", "norm", "steps", "step_size", "attack", "target", "random_start", "restarts", "params",
                    "early_stop", "seed"}


def attack_title(name: str) -> str:
    return attack_spec(name).title


def app_settings() -> QSettings:
    """The app's settings: the INI file $ADVLENS_SETTINGS (tests, portable installs), else the user's.

    Qt writes them through a temporary file and a rename (atomic sync), so a crash mid-write leaves
    the previous settings intact.
    """
    path = os.environ.get("ADVLENS_SETTINGS")
    settings = QSettings(path, QSettings.Format.IniFormat) if path else QSettings("AdvLens", "AdvLens")
    settings.setAtomicSyncRequired(True)
    return settings


class ExplorerState(QObject):
    """Settings, image and the current run; signals tell the window what changed."""

    modelChanged = Signal()
    imageChanged = Signal()
    frameReady = Signal(object)  # Frame
    runStateChanged = Signal(str)  # idle | running | paused | finished | cancelled | failed
    runEnded = Signal(object)  # JobOutcome (kind, record, message)
    error = Signal(str, str)  # title, message
    status = Signal(str)
    notice = Signal(str, str)  # title, something to know that is not an error (random weights, no gradients)
    trustNeeded = Signal(str, str)  # model file, why opening it can run code
    cardNeeded = Signal(str, object)  # model file, a suggested card (plain dict) for the person to confirm
    engineChanged = Signal(str)  # a line about the engine process: loading torch, ready, restarted

    def __init__(self, link: EngineLink, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.link = link
        self.config = RunConfig(resolution=64, device=device)
        self.recent = RecentFiles(app_settings())
        self.library = ModelLibrary(link, self.recent, app_settings, self)
        self.library.loaded.connect(self._on_model_loaded)
        self.library.failed.connect(self._fail)
        self.library.trustNeeded.connect(self.trustNeeded)
        self.library.cardNeeded.connect(self.cardNeeded)
        self.library.status.connect(self.status)
        self.image_source: ImageSource | None = None  # what the engine reads to make the input
        self.image_key = ""
        self.label: int | None = None
        self.input: np.ndarray | None = None  # (H, W, C) float32: the input at the current resolution, as shown
        self.prediction: Prediction | None = None
        self.handle: RemoteJob | None = None
        self.run_state = "idle"
        self.live = False
        self.save_runs = True
        self.last_record = None
        self.last_record_path: Path | None = None
        self.last_frame: Frame | None = None
        self.last_error = ""
        self.curve_width = 600  # the plots' width in pixels: curves are decimated to it
        self._predicting: RemoteJob | None = None
        self._pending_image: tuple[ImageSource, str, int | None, str | None] | None = None
        self._run_names: list[str] = []
        self._run_target: str | None = None
        self._drawn_frame = 0
        self._curves_at = 0.0
        self._curve_rows = -1
        self._ranges: dict[int, tuple[float, float]] = {}  # the run's curve y ranges (grow only)
        self._last_tick: float | None = None
        self._last_cpu = 0.0
        self._fps_window: list[float] = []
        self.frames_shown = 0  # a run's frames (new images from the engine), for the rate in the status bar
        self.frame_times: list[float] = []  # when each of the current run's frames was shown
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.timeout.connect(self.tick)
        self.idle_timer = QTimer(self)
        self.idle_timer.setInterval(IDLE_POLL_MS)
        self.idle_timer.timeout.connect(self._poll_prediction)
        link.started.connect(lambda _pid: self.engineChanged.emit("Loading torch in the engine process…"))
        link.ready.connect(self._on_engine_ready)
        link.lost.connect(self._on_engine_lost)

    # ---------------------------------------------------------------- catalogue for the views
    @staticmethod
    def attack_catalogue() -> list[dict]:
        entries = []
        for name in attack_names():
            spec = attack_spec(name)
            entries.append({"name": spec.name, "title": spec.title, "description": spec.description,
                            "norms": list(spec.norms), "uses_steps": spec.uses_steps, "minimal": spec.is_minimal,
                            "default_steps": spec.default_steps,
                            "uses_step_size": spec.uses_step_size, "uses_random_start": spec.uses_random_start,
                            "targeted": spec.targeted, "needs_gradients": spec.needs_gradients,
                            "params": {name: vars(p) for name, p in spec.params.items()}})
        return entries

    @property
    def model(self) -> ModelInfo | None:
        return self.library.current

    @property
    def model_key(self) -> str:
        return self.library.key

    @property
    def extra_models(self) -> dict[str, str]:
        return self.library.extra_models

    @property
    def trusted_files(self) -> set[str]:
        return self.library.trusted_files

    def model_choices(self) -> list[tuple[str, str]]:
        """(key, title) of every model to choose; the loaded one's title says 'random weights' where it applies."""
        caveat = self.model_caveat
        return [(key, f"{name} ({caveat})" if caveat and key == self.model_key else name)
                for key, name in self.library.choices()]

    @property
    def model_caveat(self) -> str:
        """'random weights' (or 'constant outputs') when the loaded model's notes say so: model box and banner."""
        return self.model.caveat if self.model is not None else ""

    def devices(self) -> list[str]:
        info = self.link.info
        return list(info.devices) if info is not None else ["auto"]

    @property
    def device_label(self) -> str:
        if self.model is not None:
            return self.model.device
        return "engine starting" if not self.link.is_ready else self.config.device

    @staticmethod
    def sample_thumbnails(size: int = 64) -> list[tuple[str, str, np.ndarray]]:
        return [(f"{SAMPLE_PREFIX}{name}", name, to_uint8(sample_array(name, size))) for name in sample_names()]

    @property
    def labels(self) -> list[str]:
        return list(self.model.labels) if self.model else []

    def label_presets(self) -> dict[str, list[str]]:
        info = self.link.info
        return dict(info.label_presets) if info is not None else {}

    def model_suffixes(self) -> list[str]:
        info = self.link.info
        return list(info.model_suffixes) if info is not None else []

    # ---------------------------------------------------------------- the engine
    def _on_engine_ready(self, info) -> None:
        self.engineChanged.emit(f"Engine ready: torch {info.torch_version}, {info.threads} thread"
                                f"{'s' if info.threads != 1 else ''}, pid {info.pid}")
        self.modelChanged.emit()  # the model choices and devices are known now

    def _on_engine_lost(self, message: str, restarting: bool) -> None:
        """The engine crashed or hung: say so in one line; the image, settings and last run stay."""
        self.last_error = message
        self.status.emit(message)
        self.engineChanged.emit(message)
        if not restarting:
            self.error.emit("The engine stopped", message)

    # ---------------------------------------------------------------- loading
    def _fail(self, title: str, exc: Exception | str) -> None:
        message = str(exc)
        self.last_error = message
        self.status.emit(f"{title}: {message}")
        self.error.emit(title, message)

    def load_model(self, key_or_path: str, trust_pickle: bool = False, card: dict | None = None) -> bool:
        """Ask the engine for a bundled model, a torchvision:/timm: name or a model file; the old one stays
        until the new one is loaded. A file that can run code emits `trustNeeded`, one without a card
        `cardNeeded`; the window asks the person and calls this again with trust or the card they gave.
        Such an answer for a file added beside the Explorer's model (a transfer model) loads it there, and
        the Explorer's run goes on."""
        answer = trust_pickle or card is not None
        if self.is_running and not (answer and self.library.waiting_side(self.library.path_of(key_or_path))):
            self.stop()
        if trust_pickle:
            return self.library.trust_and_load(self.library.path_of(key_or_path), self.config.device)
        return self.library.load(key_or_path, self.config.device, card=card)

    def _on_model_loaded(self, model: ModelInfo) -> None:
        self.config.model = self.library.path_of(self.library.key) or model.spec
        if model.input_size is not None:
            self.config.resolution = model.input_size
        if model.notes and self.library.request is not None:
            self.notice.emit(f"About {model.display_name}", "\n".join(f"• {note}" for note in model.notes))
        target = self.config.attack.target
        if target is not None and target >= model.num_classes:
            self.config.attack = replace(self.config.attack, target=None)
        self.modelChanged.emit()
        self._refresh_input()
        self.status.emit(f"Model {model.display_name} on {model.device}")

    def load_image(self, spec: str | os.PathLike | bytes) -> bool:
        """Open an image file, image bytes (paste) or 'sample:NAME'; the old image stays until the engine
        has read the new one (a bad file is one message, `error`). A sample is drawn at once, here."""
        if self.is_running:
            self.stop()
        if isinstance(spec, bytes | bytearray):
            self._request_image(ImageSource(data=bytes(spec), name="pasted image"), "pasted image", None, None)
            return True
        text = str(spec)
        if text.startswith(SAMPLE_PREFIX):
            name = text[len(SAMPLE_PREFIX):]
            try:
                label = sample_label(name)
            except AdvLensError as exc:
                self._fail("Cannot open image", exc)
                return False
            self._pending_image = None
            self._commit_image(ImageSource(text), text, label, None)
            self.input = sample_array(name, self.config.resolution)
            self.prediction = None
            self._show_input(None)
            self._refresh_input()
            return True
        path = str(Path(text).resolve()) if Path(text).exists() else text
        self._request_image(ImageSource(path), path, None, path)
        return True

    def _request_image(self, source: ImageSource, key: str, label: int | None, remember: str | None) -> None:
        self._pending_image = (source, key, label, remember)
        self._predict(source)

    def _commit_image(self, source: ImageSource, key: str, label: int | None, remember: str | None) -> None:
        self.image_source, self.image_key, self.label = source, key, label
        self.config.image = key
        if remember is not None:
            self.recent.add("images", remember)
        self.status.emit(f"Image {self.image_name}")

    def _refresh_input(self) -> None:
        """Ask for the input at the chosen resolution and the model's clean prediction of it (of the image
        being opened, if one is: it becomes current when the engine has read it)."""
        source = self._pending_image[0] if self._pending_image is not None else self.image_source
        if source is not None:
            self._predict(source)

    def _predict(self, source: ImageSource) -> None:
        job = PredictJob(EXPLORER_KEY if self.model is not None else "", source, self.config.resolution,
                         self.config.resample_filter, fit=self.config.fit)
        self._predicting = self.link.submit(job, lane="explorer")
        self.idle_timer.start()

    def _poll_prediction(self) -> None:
        job = self._predicting
        if job is None or not job.done():
            return
        self._predicting = None
        self.idle_timer.stop()
        self.link.client.forget(job)
        pending = self._pending_image
        asked = job.job.image.key
        if pending is not None and pending[0].key == asked:
            self._pending_image = None
        else:
            pending = None
        outcome = job.outcome
        if outcome.kind == "cancelled":
            return  # a run took the lane; the input shown stays
        if outcome.kind == "failed":
            self._fail("Cannot open image" if pending is not None else "The model cannot read this image",
                       outcome.message)
            return
        if pending is not None:
            self._commit_image(*pending)
        if self.image_source is None or asked != self.image_source.key:
            return  # an answer about an image that is no longer the current one
        prediction: Prediction = outcome.result
        self.prediction = prediction if prediction.pred is not None and job.job.model else None
        self.input = prediction.image
        if self.is_running:
            return  # a run started since: its frames are what the views show now
        self._show_input(self.prediction)

    def _show_input(self, prediction: Prediction | None) -> None:
        names = self.labels
        if prediction is not None:
            # a sample's class as the engine found it among the model's classes (a star is no ImageNet class)
            known = prediction.known_label if self.image_key.startswith(SAMPLE_PREFIX) else self.label
            true = label_of(names, known) if known is not None else label_of(names, prediction.pred)
            frame = idle_frame(self.input, names, prediction.pred, prediction.conf, true, self._target_name(),
                               prediction.topk_index, prediction.topk_prob)
        else:
            frame = idle_frame(self.input, names, None, 0.0, "", self._target_name())
        self.last_frame = frame
        self.imageChanged.emit()
        self.frameReady.emit(frame)

    def _target_name(self) -> str | None:
        target = self.config.attack.target
        return self.model.label(target) if (self.model is not None and target is not None) else None

    def open_folder(self, folder: str | os.PathLike) -> list[str] | None:
        """The image files in a folder, or None (with one message) when it cannot be listed or has none."""
        try:
            files = list_image_files(folder)
        except ImageLoadError as exc:
            self._fail("Cannot open folder", exc)
            return None
        if not files:
            self._fail("No images in this folder",
                       f"{folder} holds no image files ({', '.join(s.lstrip('.') for s in IMAGE_SUFFIXES)})")
            return None
        self.status.emit(f"{len(files)} images in {Path(folder).name}")
        return [str(path) for path in files]

    @property
    def input_ready(self) -> bool:
        """The current image has been read and no newer prediction of it is on its way."""
        return self.input is not None and self._predicting is None and self._pending_image is None

    @property
    def image_name(self) -> str:
        return self.image_key if self.image_key.startswith(SAMPLE_PREFIX) else Path(self.image_key).name

    def remembered_card(self, identity: str):
        return self.library.remembered_card(identity)

    # ---------------------------------------------------------------- settings
    def set_settings(self, values: dict) -> None:
        """Apply the control panel's values (plain dict) to the run configuration."""
        attack_keys = {"attack", "norm", "eps", "step_size", "steps", "random_start", "early_stop", "target", "seed",
                       "restarts", "params"}
        attack = {k: v for k, v in values.items() if k in attack_keys}
        if attack.get("attack", self.config.attack.attack) != self.config.attack.attack and "params" not in attack:
            attack["params"] = {}  # settings belong to the method they were made for
        before = self.config.attack
        previous_input = (self.config.resolution, self.config.resample_filter, self.config.fit)
        self.config.attack = replace(self.config.attack, **attack)
        self.config.resolution = values.get("resolution", self.config.resolution)
        self.config.resample_filter = values.get("resample_filter", self.config.resample_filter)
        self.config.fit = values.get("fit", self.config.fit)
        self.config.fast = bool(values.get("fast", self.config.fast))
        self.config.precision = values.get("precision", self.config.precision)
        self.config.channels_last = bool(values.get("channels_last", self.config.channels_last))
        device = values.get("device", self.config.device)
        if device != self.config.device:
            self.config.device = device
            if self.model is not None:
                self.library.move_to(device)
                self.status.emit(f"Computing on {device}")
        input_changed = (self.config.resolution, self.config.resample_filter, self.config.fit) != previous_input
        if input_changed and not (self.live and self.is_running):
            self._refresh_input()
        if self.live and (input_changed or self.config.attack != before) and self.run_state != "idle":
            self.start()

    def settings(self) -> dict:
        data = self.config.attack.to_dict()
        data.update(resolution=self.config.resolution, resample_filter=self.config.resample_filter,
                    fit=self.config.fit, device=self.config.device, fast=self.config.fast, precision=self.config.precision,
                    channels_last=self.config.channels_last)
        return data

    def set_live(self, on: bool) -> None:
        """Live: every change of the budget, norm, steps or resolution starts a new run at once."""
        self.live = bool(on)
        if self.live:
            self.status.emit("Live: a change of ε, norm, steps or resolution reruns the attack at once "
                             "(live runs are not saved)")
            if self.run_state in ("idle", "finished", "cancelled", "failed") and self.model is not None:
                self.start()

    # ---------------------------------------------------------------- running
    @property
    def is_running(self) -> bool:
        return self.handle is not None and not self.handle.done() and self.run_state in ("running", "paused")

    def start(self, paused: bool = False) -> bool:
        """Start a run with the current settings (paused: wait for Step or Resume)."""
        if self.model is None or self.image_source is None or self.input is None:
            waiting = "the engine is still starting (loading torch…)" if not self.link.is_ready else \
                "open a model and an image first"
            self._fail("Nothing to attack", waiting)
            return False
        if self.handle is not None and self.handle.done() and self.run_state in ("running", "paused"):
            self.tick()  # the last run ended since the timer's last tick: record and announce it first
        try:
            config = RunConfig.from_dict(self.config.to_dict())
            config.attack = check_attack(AttackConfig.from_dict(self.config.attack.to_dict()))
            refusal = gradients_refusal(config.attack.attack, self.model.display_name, self.model.kind,
                                        self.model.gradients_available)
            if refusal is not None:
                raise AdvLensError(refusal)
        except AdvLensError as exc:
            self._fail("Cannot start the attack", exc)
            return False
        old = self.handle
        self.handle = self.link.submit(AttackRunJob(EXPLORER_KEY, config.to_dict(), self.image_source, self.label),
                                       lane="explorer", paused=paused)
        if old is not None and not old.done():
            old.release()  # superseded: the engine cancels it; its frames are no longer wanted
        self._run_names = self.labels
        self._run_target = self._target_name()
        self._drawn_frame = 0
        self._curves_at = 0.0
        self._curve_rows = -1
        self._ranges: dict[int, tuple[float, float]] = {}
        self._fps_window.clear()
        self.frame_times = []
        self._last_tick = None
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self._set_state("paused" if paused else "running")
        self.timer.start()
        return True

    def pause(self) -> None:
        if self.is_running:
            self.handle.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.is_running:
            self.handle.resume()
            self._set_state("running")

    def step(self) -> None:
        """One iteration: starts a paused run if none is going."""
        if not self.is_running:
            if not self.start(paused=True):
                return
        self.handle.step()
        self._set_state("paused")

    def stop(self) -> None:
        """Cancel the run: it ends within one step; a forward pass that does not return ends the engine
        process after a grace period (the client restarts it), so Stop acts within a second."""
        if self.handle is not None and not self.handle.done():
            self.handle.cancel()

    def shutdown(self) -> None:
        """Stop any run (the window is closing: the engine cancels it, and it counts as cancelled now)."""
        self.timer.stop()
        self.idle_timer.stop()
        self.library.shutdown()
        for job in (self.handle, self._predicting):
            if job is not None and not job.done():
                job.abandon()

    def _set_state(self, state: str) -> None:
        if state != self.run_state:
            self.run_state = state
            self.runStateChanged.emit(state)

    # ---------------------------------------------------------------- the run's frames (GUI thread, up to 60 Hz)
    def tick(self) -> None:
        handle = self.handle
        if handle is None:
            return
        started = time.perf_counter()
        outcome = handle.poll()  # read first: if it ended, the shared memory below holds every row
        reader = handle.telemetry
        if reader is not None and handle.info is not None:
            reader.update()
            frame_data = reader.frame()
            if frame_data is not None:
                self._emit_step_frame(handle, frame_data)
            else:
                self._refresh_curves(handle)
        if outcome is not None:
            self.timer.stop()
            self._finish(handle, outcome)
            return
        self._adapt_frame_rate(started, time.thread_time())

    def _adapt_frame_rate(self, tick: float, cpu: float) -> None:
        """Back off when the GUI thread spends more than its share of a core, speed up when it does not.

        The share is the thread's own CPU time between two ticks over the wall time between them: the
        frame's poll and paint and whatever else the window did meanwhile, and none of the time the
        thread waited for a core. (A wall-clock estimate counted that waiting as drawing, so on a busy
        machine the rate backed off to ~15 frames/s although drawing cost half of what it allowed.)
        The engine has its own process and cores, so drawing does not slow the attack; the share is
        kept small so the window stays responsive and a laptop stays cool.
        """
        interval = self.timer.interval() / 1000
        if self._last_tick is not None:
            period = max(tick - self._last_tick, 1e-6)
            share = min((cpu - self._last_cpu) / period, 1.0) if period < 4 * interval else 0.0
            low, high = GUI_SHARE_TARGET
            if share > high:
                self.timer.setInterval(min(int(self.timer.interval() * 1.3) + 1, MAX_FRAME_INTERVAL_MS))
            elif share < low:
                self.timer.setInterval(max(int(self.timer.interval() * 0.9), FRAME_INTERVAL_MS))
        self._last_tick, self._last_cpu = tick, cpu

    def frames_per_second(self) -> float:
        if len(self._fps_window) < 2:
            return 0.0
        return (len(self._fps_window) - 1) / max(self._fps_window[-1] - self._fps_window[0], 1e-9)

    def _emit_step_frame(self, handle: RemoteJob, data) -> None:
        info = handle.info
        names = self._run_names
        true = label_of(names, info.labels[0]) if info.labels else ""
        frame = attack_frame(info.original, data.image, names, (info.clean_pred, info.clean_conf), data.topk_index,
                             data.topk_prob, data.metrics.get("success", 0.0) > 0.5, true, self._run_target)
        frame.step = data.step
        frame.stage = data.stage
        frame.total_steps = info.total_steps
        reader = handle.telemetry
        now = time.perf_counter()
        rows = reader.steps_seen
        due = now - self._curves_at >= CURVE_INTERVAL_S or self.run_state == "paused"  # a Step: show it all
        if due and rows != self._curve_rows:
            self._curves_at, self._curve_rows = now, rows
            frame.steps, frame.series = self._series(handle)
            self._ranges = grow_ranges(frame.series, self._ranges)
        elif self.last_frame is not None and self.last_frame.adversarial is not None:
            frame.steps, frame.series, frame.series_changed = self.last_frame.steps, self.last_frame.series, False
        frame.curve_ranges = self._ranges
        frame.steps_per_second = reader.shared.steps_pushed / max(data.elapsed_s, 1e-9) if data.elapsed_s else 0.0
        self.last_frame = frame
        self._fps_window = [t for t in self._fps_window if now - t < 2.0] + [now]
        self.frames_shown += 1
        self.frame_times.append(now)
        self.frameReady.emit(frame)

    def _refresh_curves(self, handle: RemoteJob) -> None:
        """Rows arrived but no newer frame (the engine waits for the next one to be due): the curves catch up
        at their own rate, the images stay."""
        frame, rows = self.last_frame, handle.telemetry.steps_seen
        now = time.perf_counter()
        if frame is None or frame.adversarial is None or rows == self._curve_rows or \
                now - self._curves_at < CURVE_INTERVAL_S:
            return
        self._curves_at, self._curve_rows = now, rows
        frame = replace(frame, series_changed=True)
        frame.steps, frame.series = self._series(handle)
        self._ranges = grow_ranges(frame.series, self._ranges)
        frame.curve_ranges = self._ranges
        self.last_frame = frame
        self.frameReady.emit(frame)

    def _series(self, handle: RemoteJob) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        data = handle.telemetry.series(PLOTTED)
        steps, series = plot_series(data.steps, data.series)
        return decimate(steps, series, self.curve_width)

    def _finish(self, handle: RemoteJob, outcome) -> None:
        if handle is not self.handle:
            self.link.client.forget(handle)
            return
        if outcome.kind == "failed" or outcome.record is None:
            self._set_state(outcome.kind if outcome.kind != "finished" else "failed")
            if outcome.kind == "failed":
                self._fail("The attack stopped", outcome.message)
            else:
                self.status.emit(outcome.message)
            self.runEnded.emit(outcome)
            self.link.client.forget(handle)
            return
        record = outcome.record
        self.last_record = record
        frame = record_frame(record)  # the attack's result (the best adversarial it found), from the record
        frame.total_steps = handle.info.total_steps if handle.info is not None else frame.step
        frame.steps, frame.series = decimate(frame.steps, frame.series, self.curve_width)
        if handle.telemetry is not None:
            handle.telemetry.update()
            frame.steps_per_second = handle.telemetry.steps_seen / max(record.duration_s, 1e-9)
        self.last_frame = frame
        self.frameReady.emit(frame)
        self.last_record_path = self._save_record(record) if self.save_runs and not self.live else None
        self._set_state(outcome.kind)
        self.runEnded.emit(outcome)
        self.link.client.forget(handle)

    def _save_record(self, record) -> Path | None:
        folder = new_record_path(record.config.attack.attack)
        try:
            return record.save(folder)
        except OSError as exc:
            self._fail("Cannot save the run record", f"{folder}: {exc.strerror or exc}")
            return None
