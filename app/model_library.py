"""The Explorer's models: which it can use, the one it uses, and loading them in the engine process.

Design note. The GUI process never holds a network: a model is a `ModelInfo` (names, labels,
preprocessing) of what the engine loaded under the key 'explorer'. Loading is a job on the engine's
'models' lane; its answer decides what happens next, without a forward pass or a file parse here:
- a file that can run code comes back `UntrustedModelError` with the file's identity: loaded again
  with trust if the person trusted that exact file this session, else `trustNeeded` asks them;
- a file without a card comes back `ModelCardMissing` with a suggested card: loaded again with a
  card remembered for that file, else `cardNeeded` asks for one (the answer is remembered);
- anything else is one line (`failed`), and the previous model stays.
After the engine restarts (a crash, a hang) the library loads the current model again, as it was.

Side models (the Analysis tab's 'Add a model file…', for a transfer table) take the very same road
under an engine key of their own (`load_side`): the same trust and card answers and refusals, but the
Explorer's model stays. A trust or card dialog answered for a side file loads it as a side model again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from advlens.engine.client import RemoteJob
from advlens.engine.protocol import LoadModelJob, ModelInfo, MoveModelJob
from advlens.engine_link import EngineLink
from advlens.recent import RecentFiles

EXPLORER_KEY = "explorer"  # the engine's key for the Explorer's model (the tabs use it too)
POLL_MS = 20


def settings_key(identity: str) -> str:
    return "model_cards/" + hashlib.sha1(identity.encode()).hexdigest()


@dataclass
class LoadRequest:
    """What was asked for, so a retry (with trust, with a card, after a restart) asks the same."""

    key_or_path: str
    path: str
    device: str
    trust: bool = False
    card: dict | None = None
    engine_key: str = EXPLORER_KEY  # 'explorer', or a side model's own key


class ModelLibrary(QObject):
    """Loading (in the engine), trust, cards and recent files for the Explorer's model."""

    loaded = Signal(object)  # ModelInfo: the new current model
    failed = Signal(str, str)  # title, message
    trustNeeded = Signal(str, str)  # model file, why opening it can run code
    cardNeeded = Signal(str, object)  # model file, a suggested card (plain dict) for the person to confirm
    status = Signal(str)
    sideLoaded = Signal(str, str, object)  # engine key, model file, ModelInfo: a side model is loaded

    def __init__(self, link: EngineLink, recent: RecentFiles, settings_factory, parent: QObject | None = None):
        super().__init__(parent)
        self.link = link
        self.recent = recent
        self._settings = settings_factory
        self.current: ModelInfo | None = None
        self.key = ""  # the picker's key of the current model
        self.extra_models: dict[str, str] = {}  # key -> file path or hub name, opened by the person
        self.trusted_files: set[str] = set()  # file identities the person chose to trust, this session only
        self.request: LoadRequest | None = None  # the current model's, for reloading after a restart
        self.pending: RemoteJob | None = None
        self._pending_request: LoadRequest | None = None
        self._identities: dict[str, str] = {}  # file path -> identity, from the engine's answers
        self.side_models: dict[str, str] = {}  # engine key -> file path: side models loaded
        self._side_requests: dict[str, LoadRequest] = {}  # engine key -> its request, for reloading
        self._side_queue: list[LoadRequest] = []  # one side load at a time: a lane's new job cancels the old
        self._side_job: tuple[RemoteJob, LoadRequest] | None = None
        self._side_waiting: dict[str, LoadRequest] = {}  # file path -> side request awaiting trust or a card
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        link.ready.connect(self._on_engine_ready)

    # ------------------------------------------------------------------ what can be chosen
    def choices(self) -> list[tuple[str, str]]:
        info = self.link.info
        bundled = list(info.bundled_models) if info is not None else []
        return bundled + [(key, Path(path).name) for key, path in self.extra_models.items()]

    def path_of(self, key_or_path: str) -> str:
        return self.extra_models.get(key_or_path, key_or_path)

    @property
    def loading(self) -> bool:
        return self.pending is not None and not self.pending.done()

    # ------------------------------------------------------------------ loading
    def load(self, key_or_path: str, device: str, trust: bool = False, card: dict | None = None) -> bool:
        """Ask the engine for a model (a bundled name, torchvision:/timm: name or a file); True once asked.
        A file a side load is waiting on (the dialog's answer) loads as that side model instead."""
        side = self._side_waiting.pop(str(key_or_path), None)  # a plain open (no answer) is the Explorer's
        if side is not None and (trust or card is not None):
            self._submit_side(LoadRequest(**{**vars(side), "trust": trust or side.trust, "card": card or side.card}))
            return True
        path = self.path_of(key_or_path)
        request = LoadRequest(key_or_path, path, device, trust=trust, card=card)
        self._submit(request)
        self.status.emit(f"Loading {Path(path).name if Path(path).suffix else path}…")
        return True

    def trust_and_load(self, path: str, device: str) -> bool:
        """The person ticked 'I trust this file': load it with trust, and trust it again this session."""
        identity = self._identity(path)
        if identity:
            self.trusted_files.add(identity)
        return self.load(path, device, trust=True)

    def load_side(self, path: str, device: str, engine_key: str) -> bool:
        """Load a model file under `engine_key` beside the Explorer's (which stays); `sideLoaded` once
        loaded. Trust, cards and refusals are answered exactly as for the Explorer's files."""
        self._submit_side(LoadRequest(str(path), str(path), device, engine_key=engine_key))
        self.status.emit(f"Loading {Path(path).name}…")
        return True

    def waiting_side(self, path: str) -> bool:
        """Whether a side load waits on the person's trust or card for this file."""
        return str(path) in self._side_waiting

    @property
    def loading_side(self) -> bool:
        return self._side_job is not None or bool(self._side_queue)

    def _submit_side(self, request: LoadRequest) -> None:
        self._side_queue.append(request)
        self._next_side()

    def _next_side(self) -> None:
        if self._side_job is not None or not self._side_queue:
            return
        request = self._side_queue.pop(0)
        job = self.link.submit(LoadModelJob(request.engine_key, request.path, request.device, request.trust,
                                            request.card), lane="side-models")
        self._side_job = (job, request)
        self.timer.start()

    def move_to(self, device: str) -> None:
        """Put the current model on another device (the engine makes a copy a running job keeps)."""
        if self.current is None:
            return
        if self.request is not None:
            self.request.device = device
        self._pending_request = None
        self.pending = self.link.submit(MoveModelJob(EXPLORER_KEY, device), lane="models")
        self.timer.start()

    def _submit(self, request: LoadRequest) -> None:
        self._pending_request = request
        self.pending = self.link.submit(LoadModelJob(EXPLORER_KEY, request.path, request.device, request.trust,
                                                     request.card), lane="models")
        self.timer.start()

    def poll(self) -> None:
        side = self._side_job
        if side is not None and side[0].done():
            self._side_job = None
            self.link.client.forget(side[0])
            self._answer(*side)
            self._next_side()
        job = self.pending
        if job is None or not job.done():
            if job is None and not self.loading_side:
                self.timer.stop()
            return
        self.pending = None
        if not self.loading_side:
            self.timer.stop()
        self.link.client.forget(job)
        self._answer(job, self._pending_request)

    def _answer(self, job: RemoteJob, request: LoadRequest | None) -> None:
        outcome = job.outcome
        if outcome.kind == "finished":
            self._accept(outcome.result, request)
            return
        if outcome.kind == "cancelled" or request is None:
            return
        error = job.error
        kind = error.type if error is not None else ""
        details = error.details if error is not None else {}
        identity = details.get("identity", "")
        if identity:
            self._identities[str(request.path)] = identity
            self._identities[str(details.get("path", request.path))] = identity
        resubmit = self._submit if request.engine_key == EXPLORER_KEY else self._submit_side
        if kind in ("UntrustedModelError", "ModelCardMissing") and request.engine_key != EXPLORER_KEY:
            self._side_waiting[str(details.get("path", request.path))] = request
        if kind == "UntrustedModelError":
            if identity and identity in self.trusted_files and not request.trust:
                self._side_waiting.pop(str(details.get("path", request.path)), None)
                resubmit(LoadRequest(**{**vars(request), "trust": True}))
                return
            self.status.emit(f"Not opened: {outcome.message}")
            self.trustNeeded.emit(str(details.get("path", request.path)), outcome.message)
            return
        if kind == "ModelCardMissing":
            remembered = self.remembered_card(identity) if identity and request.card is None else None
            if remembered is not None:
                self._side_waiting.pop(str(details.get("path", request.path)), None)
                resubmit(LoadRequest(**{**vars(request), "card": remembered}))
                return
            path = str(details.get("path", request.path))
            self.status.emit(f"{Path(path).name} needs a model card")
            self.cardNeeded.emit(path, details.get("request", {}))
            return
        self.failed.emit("Cannot open model", outcome.message)

    def _accept(self, info: ModelInfo, request: LoadRequest | None) -> None:
        if request is not None and request.engine_key != EXPLORER_KEY:
            self._remember_answers(request)
            self.side_models[request.engine_key] = request.path
            self._side_requests[request.engine_key] = request
            self.status.emit(f"Loaded {Path(request.path).name} beside the Explorer's model")
            self.sideLoaded.emit(request.engine_key, request.path, info)
            return
        if request is not None:
            path = request.path
            is_file = Path(path).is_file()
            self._remember_answers(request)
            key = request.key_or_path
            if (is_file or Path(path).is_dir() or ":" in str(path)) and key not in self.extra_models:
                key = f"file:{Path(path).name}" if is_file else str(path)
                self.extra_models[key] = str(path)
            self.key = key
            self.request = request
        self.current = info
        self.loaded.emit(info)

    def _remember_answers(self, request: LoadRequest) -> None:
        """A file that loaded: its card (if one was entered) is remembered, the file is a recent model."""
        if not Path(request.path).is_file():
            return
        identity = self._identity(request.path)
        if request.card is not None and identity:
            self._remember_card(identity, request.card)
        self.recent.add("models", request.path)

    def _identity(self, path: str) -> str:
        """The file's identity (path, size, time) as the engine last reported it for this path."""
        return self._identities.get(str(path), "")

    def _on_engine_ready(self, _info) -> None:
        """A (re)started engine has no model: load the current one again, as it was loaded."""
        if self.request is not None and self.current is not None and not self.loading:
            self._submit(self.request)
        self._side_job = None  # the old engine's job died with it
        for request in self._side_requests.values():
            self._submit_side(request)

    # ------------------------------------------------------------------ remembered cards
    def remembered_card(self, identity: str) -> dict | None:
        """A card entered earlier for this exact file (same path, size and time), or None."""
        text = self._settings().value(settings_key(identity))
        if not text:
            return None
        try:
            card = json.loads(str(text))
        except ValueError:
            return None
        return card if isinstance(card, dict) else None

    def _remember_card(self, identity: str, card: dict) -> None:
        settings = self._settings()
        settings.setValue(settings_key(identity), json.dumps(card))
        settings.sync()

    def shutdown(self) -> None:
        self.timer.stop()
        if self.pending is not None and not self.pending.done():
            self.pending.abandon()
        if self._side_job is not None and not self._side_job[0].done():
            self._side_job[0].abandon()
