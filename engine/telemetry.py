"""Telemetry between an attack thread and a reader: per-step scalars into ring buffers, the newest
step in a one-slot mailbox.

The attack thread only appends device tensors (no host copy, no synchronisation); a reader (the
GUI's timer, a progress bar) calls `drain()` at its own pace, which moves what accumulated to the
host in one go, and `latest()` for the newest step, whose images it copies only if it draws them
(`drain_latest()` does both at once, so the step and the series drawn beside it agree; `snapshot()`
reads the steps and series together).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .attacks.base import Step
from .metrics import METRIC_NAMES


class RingBuffer:
    """A growable-then-bounded float array of rows (steps x images); the oldest rows drop out."""

    def __init__(self, width: int, capacity: int = 100_000):
        self.capacity = capacity
        self._data = np.empty((min(capacity, 256), width), np.float64)
        self._start = 0  # step index of row 0
        self._count = 0

    def extend(self, rows: np.ndarray) -> None:
        rows = np.atleast_2d(rows)
        needed = self._count + len(rows)
        if needed > len(self._data) and len(self._data) < self.capacity:
            grown = np.empty((min(self.capacity, max(needed, 2 * len(self._data))), self._data.shape[1]))
            grown[: self._count] = self._data[: self._count]
            self._data = grown
        overflow = needed - len(self._data)
        if overflow > 0:
            keep = max(self._count - overflow, 0)
            self._data[:keep] = self._data[self._count - keep : self._count]
            self._start += self._count - keep
            self._count = keep
            rows = rows[-len(self._data) :]
        self._data[self._count : self._count + len(rows)] = rows
        self._count += len(rows)

    def __len__(self) -> int:
        return self._count

    def array(self) -> np.ndarray:
        """The rows held, oldest first (a view: copy it to keep it)."""
        return self._data[: self._count]

    @property
    def first_index(self) -> int:
        return self._start


@dataclass
class StepSummary:
    """Host copies of one step's scalars and top-k, for image `image` of the batch."""

    index: int
    stage: str
    metrics: dict[str, float]
    topk_prob: np.ndarray
    topk_index: np.ndarray


class Telemetry:
    """Thread-safe hand-over of steps from the attack thread to readers."""

    def __init__(self, batch: int = 1, capacity: int = 100_000):
        self._lock = threading.Lock()
        # drain() runs on the GUI timer and, at the end of a run, on the worker (metrics()): one at a time,
        # or a reader copies some buffers before and some after the other drain extended them.
        self._drain_lock = threading.RLock()
        self._pending: list[Step] = []
        self._latest: Step | None = None
        self._version = 0
        self.buffers = {name: RingBuffer(batch, capacity) for name in METRIC_NAMES}
        self.step_indices = RingBuffer(1, capacity)
        self.steps_seen = 0

    def push(self, step: Step) -> None:
        """Called by the attack thread for each step: cheap, never waits for a reader."""
        with self._lock:
            self._pending.append(step)
            self._latest = step
            self._version += 1

    def drain(self) -> int:
        """Move pending steps into the host ring buffers; returns how many arrived."""
        with self._drain_lock:
            with self._lock:
                pending, self._pending = self._pending, []
            return self._store(pending)

    def drain_latest(self) -> tuple[int, Step | None]:
        """Drain, and return (version, newest step) as of that drain: the buffers then reach that step.

        A reader that drained and then read `latest()` could get a step pushed in between, one its
        series do not hold yet (a frame at step k beside a curve that stops at k - 1).
        """
        with self._drain_lock:
            with self._lock:
                pending, self._pending = self._pending, []
                version, latest = self._version, self._latest
            self._store(pending)
            return version, latest

    def _store(self, pending: list[Step]) -> int:
        if not pending:
            return 0
        for name in METRIC_NAMES:
            stacked = torch.stack([getattr(s, name) for s in pending]).to(torch.float64)
            self.buffers[name].extend(stacked.cpu().numpy())
        self.step_indices.extend(np.array([[s.index] for s in pending], np.float64))
        self.steps_seen += len(pending)
        return len(pending)

    def latest(self) -> tuple[int, Step | None]:
        """(version, newest step); the version changes whenever a new step arrives."""
        with self._lock:
            return self._version, self._latest

    def series(self, name: str, image: int = 0) -> np.ndarray:
        """A copy of one metric for one image, one value per step held."""
        with self._drain_lock:
            return self.buffers[name].array()[:, image].copy()

    def steps(self) -> np.ndarray:
        """A copy of the step indices held."""
        with self._drain_lock:
            return self.step_indices.array()[:, 0].copy()

    def snapshot(self, names: Sequence[str], image: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Copies of the step indices and of the named metrics for one image, all from the same drain.

        Reading them one call at a time is not enough: a drain on another thread (the worker's own,
        at the end of a run) between two calls would make the steps and the series differ in length.
        """
        with self._drain_lock:
            steps = self.step_indices.array()[:, 0].copy()
            return steps, {name: self.buffers[name].array()[:, image].copy() for name in names}

    def metrics(self) -> dict[str, np.ndarray]:
        """Every metric as a (steps, images) array copy."""
        with self._drain_lock:
            self.drain()
            return {name: buf.array().copy() for name, buf in self.buffers.items()}


def summarize(step: Step, image: int = 0) -> StepSummary:
    """Host copy of one image's scalars and top-k from a step (one small device-to-host copy)."""
    scalars = torch.stack([getattr(step, n)[image].to(torch.float64) for n in METRIC_NAMES]).cpu().numpy()
    return StepSummary(
        index=step.index,
        stage=step.stage,
        metrics=dict(zip(METRIC_NAMES, scalars.tolist(), strict=True)),
        topk_prob=step.topk_prob[image].detach().cpu().numpy(),
        topk_index=step.topk_index[image].detach().cpu().numpy(),
    )
