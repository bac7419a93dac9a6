"""The Explorer's state: what is loaded, what runs, what the views should show.

It adapts the Qt-free engine to Qt: the engine's runner does the work on its own thread, and a
QTimer here (about 30 Hz) drains telemetry, reads the newest step from the mailbox and hands the
widgets a `Frame` of plain numpy data. No signal is emitted per engine step.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from advlens.engine import (
    AdvLensError,
    AttackConfig,
    AttackRunner,
    Model,
    RunConfig,
    RunEvent,
    RunHandle,
    RunRecord,
    attack_names,
    attack_spec,
    available_devices,
    bundled_models,
    device_name,
    load_image,
    load_model,
    prepare_job,
    resample,
    select_device,
)
from advlens.engine.attacks.base import Step
from advlens.engine.catalogue import planned_steps
from advlens.engine.errors import ImageLoadError, ModelCardMissing, UntrustedModelError
from advlens.engine.images import IMAGE_SUFFIXES, list_image_files, to_uint8
from advlens.engine.loaders import (
    card_from_dict,
    file_identity,
    find_card,
    imagenet_labels,
    known_architectures,
)
from advlens.engine.model_input import input_fit
from advlens.engine.norms import lp_norm
from advlens.engine.paths import new_record_path
from advlens.engine.samples import SAMPLE_PREFIX, load_sample, sample_names
from advlens.engine.session import default_label
from advlens.engine.telemetry import summarize
from advlens.recent import RecentFiles

FRAME_INTERVAL_MS = 33  # the fastest the views refresh (30 Hz)
MAX_FRAME_INTERVAL_MS = 250  # the slowest they may back off to (4 Hz)
GUI_SHARE_TARGET = (0.25, 0.45)  # share of wall time the GUI thread may spend drawing a run


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


def moved_model(model, device: torch.device):
    """The model on `device`, as a copy where it can be: a lab or analysis may still be running on the
    old one on its own thread, and `nn.Module.to` would move it under that thread."""
    try:
        return copy.deepcopy(model).to(device)
    except Exception:  # noqa: BLE001 - e.g. an onnxruntime session cannot be copied; it stays on the CPU anyway
        return model.to(device)


@dataclass
class Frame:
    """Everything the views draw, as plain numbers and arrays (no tensors)."""

    original: np.ndarray  # (H, W, 3) float32 in [0, 1]
    clean_label: str
    clean_conf: float
    true_label: str
    target_label: str | None = None
    adversarial: np.ndarray | None = None
    perturbation: np.ndarray | None = None  # (H, W) signed channel mean of the perturbation
    perturbation_peak: float = 0.0
    difference: np.ndarray | None = None  # (H, W) |delta| summed over channels
    adv_label: str = ""
    adv_conf: float = 0.0
    success: bool | None = None
    topk_labels: list[str] = field(default_factory=list)
    topk_probs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step: int = 0
    total_steps: int = 0
    stage: str = ""
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    series: dict[str, np.ndarray] = field(default_factory=dict)
    norms: dict[str, float] = field(default_factory=dict)
    steps_per_second: float = 0.0


def _hwc(image: torch.Tensor) -> np.ndarray:
    return image.detach().cpu().numpy().transpose(1, 2, 0).astype(np.float32, copy=False)


def caveat_of(notes: list[str]) -> str:
    """The few words a screen must show about a model whose predictions mean nothing: its loader's notes
    say RANDOM weights, or outputs that never change."""
    words = [w for w, key in (("random weights", "RANDOM weights"), ("constant outputs", "outputs are constant"),
                              ("nearly constant outputs", "outputs are nearly constant")) if any(key in n for n in notes)]
    return ", ".join(words)


class ExplorerState(QObject):
    """Model, image, settings and the current run; signals tell the window what changed."""

    modelChanged = Signal()
    imageChanged = Signal()
    frameReady = Signal(object)  # Frame
    runStateChanged = Signal(str)  # idle | running | paused | finished | cancelled | failed
    runEnded = Signal(object)  # RunEvent
    error = Signal(str, str)  # title, message
    status = Signal(str)
    notice = Signal(str, str)  # title, something to know that is not an error (random weights, no gradients)
    trustNeeded = Signal(str, str)  # model file, why opening it can run code
    cardNeeded = Signal(str, object)  # model file, a suggested card (plain dict) for the person to confirm

    def __init__(self, device: str = "auto", parent: QObject | None = None):
        super().__init__(parent)
        self.runner = AttackRunner()
        self.device = select_device(device)
        self.config = RunConfig(resolution=64, device=device)
        self.model: Model | None = None
        self.model_key = ""
        self.extra_models: dict[str, str] = {}  # key -> file path, opened by the user
        self.recent = RecentFiles(app_settings())
        self.trusted_files: set[str] = set()  # file identities the person chose to trust, this session only
        self.source: torch.Tensor | None = None  # full-resolution image of a file (samples render natively)
        self.image_key = ""
        self.label: int | None = None
        self.handle: RunHandle | None = None
        self.run_state = "idle"
        self.last_record: RunRecord | None = None
        self.last_record_path: Path | None = None
        self.last_frame: Frame | None = None
        self.last_error = ""
        self._input: torch.Tensor | None = None
        self._clean: tuple[int, float] | None = None
        self._drawn_version = -1
        self._last_tick: float | None = None
        self._poll_cost = 0.0
        self._paint_cost = 0.0
        self._frames_drawn = 0
        self._fps_window: list[float] = []
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.timeout.connect(self.poll)

    # ---------------------------------------------------------------- catalogue for the views
    @staticmethod
    def attack_catalogue() -> list[dict]:
        entries = []
        for name in attack_names():
            spec = attack_spec(name)
            entries.append({"name": spec.name, "title": spec.title, "description": spec.description,
                            "norms": list(spec.norms), "uses_steps": spec.uses_steps, "minimal": spec.is_minimal,
                            "uses_step_size": spec.uses_step_size, "uses_random_start": spec.uses_random_start,
                            "targeted": spec.targeted, "needs_gradients": spec.needs_gradients,
                            "params": {name: vars(p) for name, p in spec.params.items()}})
        return entries

    def model_choices(self) -> list[tuple[str, str]]:
        choices = [(m.name, m.card.display_name) for m in bundled_models()]
        choices += [(key, Path(path).name) for key, path in self.extra_models.items()]
        caveat = self.model_caveat
        return [(key, f"{name} ({caveat})" if caveat and key == self.model_key else name) for key, name in choices]

    @property
    def model_caveat(self) -> str:
        """'random weights' (or 'constant outputs') when the loaded model's notes say so, for the model box and banner."""
        return caveat_of(self.model.notes) if self.model is not None else ""

    @staticmethod
    def devices() -> list[str]:
        return ["auto", *available_devices()]

    @property
    def device_label(self) -> str:
        return device_name(self.device)

    @staticmethod
    def sample_thumbnails(size: int = 64) -> list[tuple[str, str, np.ndarray]]:
        return [(f"{SAMPLE_PREFIX}{name}", name, to_uint8(load_sample(name, size))) for name in sample_names()]

    @property
    def labels(self) -> list[str]:
        return list(self.model.labels) if self.model else []

    # ---------------------------------------------------------------- loading
    def _fail(self, title: str, exc: Exception | str) -> None:
        message = str(exc)
        self.last_error = message
        self.status.emit(f"{title}: {message}")
        self.error.emit(title, message)

    def load_model(self, key_or_path: str, trust_pickle: bool = False, card: dict | None = None) -> bool:
        """Load a bundled model, a torchvision:/timm: name or a model file; on failure the old model stays.

        A file that can run code emits `trustNeeded` and a file without a card `cardNeeded`; the window
        asks the person and calls this again with `trust_pickle=True` or the `card` they filled in.
        """
        if self.is_running:
            self.stop()
        path = self.extra_models.get(key_or_path, key_or_path)
        is_file = Path(path).is_file()
        identity = file_identity(path) if is_file else ""
        if trust_pickle and identity:
            self.trusted_files.add(identity)
        try:
            model_card = self._card_for(path, identity, card)
            model = load_model(path, self.device, card=model_card, trust_pickle=identity in self.trusted_files)
        except UntrustedModelError as exc:
            self.status.emit(f"Not opened: {exc}")
            self.trustNeeded.emit(str(path), str(exc))
            return False
        except ModelCardMissing as exc:
            self.status.emit(f"{Path(path).name} needs a model card")
            self.cardNeeded.emit(str(path), self._card_request(exc))
            return False
        except AdvLensError as exc:
            self._fail("Cannot open model", exc)
            return False
        if card is not None and identity:
            self._remember_card(identity, card)
        if is_file:
            self.recent.add("models", path)
        key = key_or_path
        if (is_file or Path(path).is_dir() or ":" in str(path)) and key_or_path not in self.extra_models:
            key = f"file:{Path(path).name}" if is_file else str(path)
            self.extra_models[key] = str(path)
        self.model, self.model_key = model, key
        self.config.model = path
        if model.input_size is not None:
            self.config.resolution = model.input_size
        if model.notes:
            self.notice.emit(f"About {model.card.display_name}", "\n".join(f"• {note}" for note in model.notes))
        target = self.config.attack.target
        if target is not None and target >= model.num_classes:
            self.config.attack = replace(self.config.attack, target=None)
        self.modelChanged.emit()
        self._refresh_input()
        self.status.emit(f"Model {model.card.display_name} on {self.device_label}")
        return True

    def load_image(self, spec: str | os.PathLike | bytes) -> bool:
        """Open an image file, image bytes (paste) or 'sample:NAME'; on failure the old image stays."""
        if self.is_running:
            self.stop()
        text = spec if isinstance(spec, str) else None
        try:
            if text is not None and text.startswith(SAMPLE_PREFIX):
                load_sample(text[len(SAMPLE_PREFIX):], 8)  # validates the name
                source, key, label = None, text, default_label(text)
            else:
                source = load_image(spec)
                key = "pasted image" if isinstance(spec, bytes | bytearray) else str(spec)
                label = None
        except AdvLensError as exc:
            self._fail("Cannot open image", exc)
            return False
        self.source, self.image_key, self.label = source, key, label
        self.config.image = key
        if source is not None and not isinstance(spec, bytes | bytearray):
            self.recent.add("images", spec)
        self._refresh_input()
        self.status.emit(f"Image {self.image_name}")
        return True

    # ---------------------------------------------------------------- model cards, folders
    @staticmethod
    def _settings_key(identity: str) -> str:
        return "model_cards/" + hashlib.sha1(identity.encode()).hexdigest()

    def _card_for(self, path: str, identity: str, card: dict | None):
        """The card to load with: the one just entered, else (no card file beside it) a remembered one."""
        if card is not None:
            return card_from_dict(card, where="the model card you entered")
        if not identity or find_card(path) is not None:
            return None
        return self.remembered_card(identity)

    def remembered_card(self, identity: str):
        """A card entered earlier for this exact file (same path, size and time), or None."""
        text = app_settings().value(self._settings_key(identity))
        if not text:
            return None
        try:
            return card_from_dict(json.loads(str(text)), where="a remembered model card")
        except (ValueError, AdvLensError):
            return None

    def _remember_card(self, identity: str, card: dict) -> None:
        settings = app_settings()
        settings.setValue(self._settings_key(identity), json.dumps(card))
        settings.sync()

    @staticmethod
    def _card_request(exc: ModelCardMissing) -> dict:
        """What the card dialog needs, as plain data."""
        suggestion = exc.suggestion
        data = suggestion.to_dict() if suggestion is not None else {"name": Path(exc.path).stem, "labels": []}
        data["num_classes"] = len(data.get("labels", []))
        data["needs_architecture"] = exc.needs_architecture
        data["architectures"] = known_architectures() if exc.needs_architecture else []
        return data

    @staticmethod
    def label_presets() -> dict[str, list[str]]:
        return {"ImageNet (1000 classes)": imagenet_labels()}

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
    def image_name(self) -> str:
        return self.image_key if self.image_key.startswith(SAMPLE_PREFIX) else Path(self.image_key).name

    def set_settings(self, values: dict) -> None:
        """Apply the control panel's values (plain dict) to the run configuration."""
        attack_keys = {"attack", "norm", "eps", "step_size", "steps", "random_start", "early_stop", "target", "seed",
                       "restarts", "params"}
        attack = {k: v for k, v in values.items() if k in attack_keys}
        if attack.get("attack", self.config.attack.attack) != self.config.attack.attack and "params" not in attack:
            attack["params"] = {}  # settings belong to the method they were made for
        previous_input = (self.config.resolution, self.config.resample_filter, self.config.fit)
        self.config.attack = replace(self.config.attack, **attack)
        self.config.resolution = values.get("resolution", self.config.resolution)
        self.config.resample_filter = values.get("resample_filter", self.config.resample_filter)
        self.config.fit = values.get("fit", self.config.fit)
        device = values.get("device", self.config.device)
        if device != self.config.device:
            self.config.device = device
            try:
                self.device = select_device(device)
            except AdvLensError as exc:
                self._fail("Cannot use device", exc)
            else:
                if self.model is not None and self.model.device != self.device:
                    self.model = moved_model(self.model, self.device)
                    self.status.emit(f"Computing on {self.device_label}")
        if (self.config.resolution, self.config.resample_filter, self.config.fit) != previous_input:
            self._refresh_input()

    def settings(self) -> dict:
        data = self.config.attack.to_dict()
        data.update(resolution=self.config.resolution, resample_filter=self.config.resample_filter,
                    fit=self.config.fit, device=self.config.device)
        return data

    def current_input(self) -> torch.Tensor | None:
        size = self.config.resolution
        if self.image_key.startswith(SAMPLE_PREFIX):
            return load_sample(self.image_key[len(SAMPLE_PREFIX):], size)
        if self.source is None:
            return None
        if self.model is not None:  # what the run will attack: the model's size and its own crop (model_input)
            return input_fit(self.model, size, self.config.resample_filter, self.config.fit).apply(self.source)
        return resample(self.source, size, self.config.resample_filter) if size else self.source

    def _refresh_input(self) -> None:
        """Re-render the input at the chosen resolution and show the clean prediction."""
        image = self.current_input()
        if image is None or self.model is None:
            return
        try:
            with torch.no_grad():
                probs = self.model.predict(image[None].to(self.device))[0]
        except AdvLensError as exc:
            self._fail("The model cannot read this image", exc)
            return
        conf, pred = probs.max(dim=0)
        self._input = image
        self._clean = (int(pred), float(conf))
        top = probs.topk(min(5, probs.numel()))
        frame = Frame(
            original=_hwc(image),
            clean_label=self.model.label(int(pred)),
            clean_conf=float(conf),
            true_label=self._true_label_name(),
            target_label=self._target_name(),
            topk_labels=[self.model.label(int(i)) for i in top.indices],
            topk_probs=top.values.cpu().numpy(),
        )
        self.last_frame = frame
        self.imageChanged.emit()
        self.frameReady.emit(frame)

    @property
    def true_label(self) -> int | None:
        """The image's known class for the loaded model: a sample's class where the model has it, else None."""
        if self.model is not None and self.image_key.startswith(SAMPLE_PREFIX):
            return default_label(self.image_key, self.model.labels)
        return self.label

    def _true_label_name(self) -> str:
        if self.model is None:
            return ""
        if self.true_label is not None:
            return self.model.label(self.true_label)
        return self.model.label(self._clean[0]) if self._clean else ""

    def _target_name(self) -> str | None:
        target = self.config.attack.target
        return self.model.label(target) if (self.model is not None and target is not None) else None

    # ---------------------------------------------------------------- running
    @property
    def is_running(self) -> bool:
        return self.handle is not None and not self.handle.done and self.run_state in ("running", "paused")

    def start(self, paused: bool = False) -> bool:
        """Start a run with the current settings (paused: wait for Step or Resume)."""
        if self.model is None or self._input is None:
            self._fail("Nothing to attack", "open a model and an image first")
            return False
        if self.handle is not None and self.handle.done and self.run_state in ("running", "paused"):
            self.poll()  # the last run ended since the timer's last tick: record and announce it first
        if self.is_running:
            self.stop()
        try:
            config = RunConfig.from_dict(self.config.to_dict())
            config.attack = AttackConfig.from_dict(self.config.attack.to_dict())
            job = prepare_job(config, model=self.model, image=self._input.clone(), label=self.true_label)
        except AdvLensError as exc:
            self._fail("Cannot start the attack", exc)
            return False
        self.handle = self.runner.start(job, paused=paused)
        self._drawn_version = -1
        self._fps_window.clear()
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
        """Cancel the run; it ends within one step and reports 'cancelled'."""
        if self.handle is not None and not self.handle.done:
            self.handle.cancel()

    def shutdown(self) -> None:
        """Stop any run and the worker (the window is closing)."""
        self.timer.stop()
        self.runner.shutdown(wait=True)

    def _set_state(self, state: str) -> None:
        if state != self.run_state:
            self.run_state = state
            self.runStateChanged.emit(state)

    # ---------------------------------------------------------------- polling (GUI thread, ~30 Hz)
    def poll(self) -> None:
        handle = self.handle
        if handle is None:
            return
        tick = time.perf_counter()
        event = handle.poll()  # read first: if it ended, the telemetry below is complete
        # the newest step as of this drain, so the series drawn beside it reach it (a step pushed after
        # the drain waits for the next tick)
        version, step = handle.telemetry.drain_latest()
        if step is not None and version != self._drawn_version:
            self._drawn_version = version
            self._emit_step_frame(handle, step)
        if event is not None:
            self.timer.stop()
            self._finish(event)
            return
        self._poll_cost = time.perf_counter() - tick
        # a zero timer fires once the repaints this frame queued are done: the rest of its cost
        QTimer.singleShot(0, self._frame_drawn)
        self._adapt_frame_rate(tick, self._poll_cost + self._paint_cost)

    def _frame_drawn(self) -> None:
        if self._last_tick is not None:
            self._paint_cost = max(time.perf_counter() - self._last_tick - self._poll_cost, 0.0)

    def _adapt_frame_rate(self, tick: float, busy: float) -> None:
        """Back off the refresh rate when drawing eats into the attack, speed up again when it does not.

        Drawing runs Python on the GUI thread and so competes with the attack thread for the GIL; on a
        small CPU a 30 Hz redraw of every view can slow the attack five-fold. The GUI's share is
        estimated from this tick's own work plus how late the tick came (paint events delay it).
        """
        interval = self.timer.interval() / 1000
        if self._last_tick is not None:
            period = max(tick - self._last_tick, 1e-6)
            late = max(period - interval, 0.0)
            share = min((busy + late) / period, 1.0)
            low, high = GUI_SHARE_TARGET
            if share > high:
                self.timer.setInterval(min(int(self.timer.interval() * 1.3) + 1, MAX_FRAME_INTERVAL_MS))
            elif share < low:
                self.timer.setInterval(max(int(self.timer.interval() * 0.9), FRAME_INTERVAL_MS))
        self._last_tick = tick

    def frames_per_second(self) -> float:
        if len(self._fps_window) < 2:
            return 0.0
        return (len(self._fps_window) - 1) / max(self._fps_window[-1] - self._fps_window[0], 1e-9)

    def _emit_step_frame(self, handle: RunHandle, step: Step) -> None:
        summary = summarize(step)
        x = handle.job.images[0]
        x_adv = step.x_adv[0]
        frame = self._frame_from(x, x_adv, summary.topk_index, summary.topk_prob, bool(summary.metrics["success"]))
        frame.step = step.index
        frame.stage = step.stage
        frame.total_steps = planned_steps(handle.job.config.attack)
        frame.steps, frame.series = self._series(handle)
        frame.steps_per_second = handle.steps_per_second()
        self.last_frame = frame
        now = time.perf_counter()
        self._fps_window = [t for t in self._fps_window if now - t < 2.0] + [now]
        self.frameReady.emit(frame)

    def _frame_from(self, x: torch.Tensor, x_adv: torch.Tensor, topk_index, topk_prob, success: bool) -> Frame:
        """A frame from tensors the attack already computed: no extra forward pass on the GUI thread."""
        model = self.model
        delta_t = (x_adv - x).detach()[None]
        norms = {name: float(lp_norm(delta_t, name)[0]) for name in ("l0", "l1", "l2", "linf")}
        delta = delta_t[0].cpu().numpy()
        peak = norms["linf"]
        clean_pred, clean_conf = self._clean or (0, 0.0)
        return Frame(
            original=_hwc(x),
            clean_label=model.label(clean_pred),
            clean_conf=clean_conf,
            true_label=self._true_label_name(),
            target_label=self._target_name(),
            adversarial=_hwc(x_adv),
            perturbation=delta.mean(axis=0),
            perturbation_peak=peak,
            difference=np.abs(delta).sum(axis=0),
            adv_label=model.label(int(topk_index[0])),
            adv_conf=float(topk_prob[0]),
            success=success,
            topk_labels=[model.label(int(i)) for i in topk_index],
            topk_probs=np.asarray(topk_prob, dtype=float),
            norms=norms,
        )

    @staticmethod
    def _series(handle: RunHandle) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        # one snapshot: the worker drains too (at the end of a run), and the steps and every series
        # must come from the same drain or they differ in length and the plots refuse them
        steps, read = handle.telemetry.snapshot(("loss", "margin", "true_prob", "target_prob", "l2", "linf"))
        series = {name: read[name] for name in ("loss", "margin", "true_prob", "target_prob", "l2")}
        series["linf_255"] = read["linf"] * 255.0
        return steps, series

    def _finish(self, event: RunEvent) -> None:
        self.handle_event = event
        if event.kind == "failed":
            self._set_state("failed")
            self._fail("The attack stopped", event.message)
            self.runEnded.emit(event)
            return
        record = event.record
        self.last_record = record
        # the final frame shows the attack's result (the best adversarial it found)
        x = torch.from_numpy(record.original[0])
        x_adv = torch.from_numpy(record.adversarial[0])
        with torch.no_grad():
            probs = self.model(x_adv[None].to(self.device))[0].softmax(dim=0)
        top = probs.topk(min(5, probs.numel()))
        frame = self._frame_from(x.to(self.device), x_adv.to(self.device), top.indices.cpu().numpy(),
                                 top.values.cpu().numpy(), bool(record.success[0]))
        frame.step = record.steps_run
        frame.total_steps = planned_steps(record.config.attack)
        frame.steps, frame.series = self._series(self.handle)
        frame.steps_per_second = self.handle.steps_per_second()
        self.last_frame = frame
        self.frameReady.emit(frame)
        self.last_record_path = self._save_record(record)
        self._set_state(event.kind)
        self.runEnded.emit(event)

    def _save_record(self, record: RunRecord) -> Path | None:
        folder = new_record_path(record.config.attack.attack)
        try:
            return record.save(folder)
        except OSError as exc:
            self._fail("Cannot save the run record", f"{folder}: {exc.strerror or exc}")
            return None
