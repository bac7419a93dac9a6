"""The GUI's connection to the engine process: an `EngineClient` polled by a Qt timer.

Design note. The client does the work (spawn, restart, close, jobs; Qt-free). This adapter only
turns what `poll()` reports about the engine itself into Qt signals — up, ready, lost — and keeps
its own timer short and cheap (draining a queue). The states of the tabs read their own jobs
(`RemoteJob`: progress mailbox, outcome, shared-memory telemetry) on their own timers, like any
mailbox, so no signal is emitted per engine event and nothing here waits for the engine.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from advlens.engine.client import EngineClient, EngineLost, EngineReady, EngineStarted, RemoteJob
from advlens.engine.protocol import EngineInfo, EngineSettings

POLL_MS = 20


def engine_settings(device: str = "auto") -> EngineSettings:
    """The engine's settings: $ADVLENS_ENGINE_THREADS chooses its torch threads (else all cores but one)."""
    threads = os.environ.get("ADVLENS_ENGINE_THREADS", "").strip()
    return EngineSettings(threads=int(threads) if threads.isdigit() and int(threads) > 0 else None, device=device)


class EngineLink(QObject):
    """Starts the engine beside the window and says when it is up, ready or lost."""

    started = Signal(int)  # pid: the process is up, torch is loading
    ready = Signal(object)  # EngineInfo
    lost = Signal(str, bool)  # one-line message, whether it is restarting

    def __init__(self, settings: EngineSettings | None = None, parent: QObject | None = None, **client_options: Any):
        super().__init__(parent)
        self.client = EngineClient(settings or engine_settings(), **client_options)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.shared = False  # True: several windows use it (tests), so closing a window leaves it running

    def start(self) -> None:
        self.client.start()
        self.timer.start()

    @property
    def info(self) -> EngineInfo | None:
        return self.client.info

    @property
    def is_ready(self) -> bool:
        return self.client.ready

    def submit(self, job: Any, lane: str, paused: bool = False) -> RemoteJob:
        return self.client.submit(job, lane, paused)

    def poll(self) -> None:
        for event in self.client.poll():
            if isinstance(event, EngineStarted):
                self.started.emit(event.pid)
            elif isinstance(event, EngineReady):
                self.ready.emit(event.info)
            elif isinstance(event, EngineLost):
                self.lost.emit(event.message, event.restarting)

    def close(self) -> None:
        """End the engine process and wait until it is gone."""
        self.timer.stop()
        self.client.close()
