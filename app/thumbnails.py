"""Thumbnails decoded off the GUI thread, newest request first, delivered in batches on a GUI timer.

Worker threads only call the engine's `load_thumbnail` (Pillow, no Qt); finished thumbnails wait in a
queue that a QTimer drains a bounded number at a time, so a folder of thousands of files never floods
the event loop with signals or blocks it with decoding. Requests are served last-in first-out: the
rows a person scrolled to most recently are decoded before the ones scrolled past.
"""

from __future__ import annotations

import queue
import threading

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from advlens.engine.errors import ImageLoadError
from advlens.engine.images import load_thumbnail

DRAIN_INTERVAL_MS = 30


class ThumbnailLoader(QObject):
    """Decode (row, path) requests on `workers` threads; emit `thumbnailsReady` with batches of results."""

    thumbnailsReady = Signal(list)  # [(row, (H, W, 3) uint8 array or None, error message)]

    def __init__(self, size: int = 96, workers: int = 2, per_tick: int = 64, parent: QObject | None = None):
        super().__init__(parent)
        self.size = size
        self.per_tick = per_tick
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._cond = threading.Condition()
        self._stack: list[tuple[int, int, str]] = []  # (generation, row, path), served from the end
        self._queued: set[int] = set()
        self._generation = 0
        self._in_flight = 0
        self._stopping = False
        self._done: queue.SimpleQueue[tuple[int, int, np.ndarray | None, str]] = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self._drain)

    def reset(self) -> None:
        """Forget every request (a new folder): results still in flight are dropped when they arrive."""
        with self._cond:
            self._generation += 1
            self._stack.clear()
            self._queued.clear()

    def request(self, items: list[tuple[int, str]]) -> None:
        """Queue (row, path) pairs; the last ones queued are decoded first."""
        with self._cond:
            if self._stopping:
                return
            for row, path in items:
                if row not in self._queued:
                    self._queued.add(row)
                    self._stack.append((self._generation, row, path))
            self._cond.notify_all()
        self._start_workers()
        if not self._timer.isActive():
            self._timer.start()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._stack)

    def _start_workers(self) -> None:
        while len(self._threads) < self._workers:
            thread = threading.Thread(target=self._work, name=f"advlens-thumbnails-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stack and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                generation, row, path = self._stack.pop()
                self._in_flight += 1
            try:
                result: tuple[np.ndarray | None, str] = (load_thumbnail(path, self.size), "")
            except ImageLoadError as exc:
                result = (None, str(exc))
            except Exception as exc:  # a worker must never die: any other failure is shown on the item
                result = (None, f"{path}: cannot make a thumbnail ({type(exc).__name__})")
            self._done.put((generation, row, *result))
            with self._cond:
                self._in_flight -= 1

    def _drain(self) -> None:
        batch = []
        while len(batch) < self.per_tick:
            try:
                generation, row, array, error = self._done.get_nowait()
            except queue.Empty:
                break
            if generation == self._generation:
                batch.append((row, array, error))
        if batch:
            self.thumbnailsReady.emit(batch)
            return
        with self._cond:
            idle = not self._stack and self._in_flight == 0
        if idle and self._done.empty():
            self._timer.stop()

    def shutdown(self) -> None:
        """Stop the workers (the window is closing); a file being decoded finishes first."""
        self._timer.stop()
        with self._cond:
            self._stopping = True
            self._stack.clear()
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
