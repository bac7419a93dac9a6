"""Telemetry between an attack loop and its readers: per-step scalars in ring buffers, the newest frame
in a one-slot mailbox, and memory flat in the number of steps.

The writer side is what `session.execute` talks to, once per step (`TelemetryWriter`):

    writer.begin(criterion)          once, before the first step: the labels and targets metrics need
    writer.push(index, logits)       every step: the logits of the step's iterate, (N, classes), a device
                                     tensor the caller never modifies afterwards
    writer.frame_due() -> bool       asked once per step, after `push`: does a reader want a frame now?
    writer.offer_frame(frame)        when due, and for the last step: a `StepFrame` (shown image, top-k,
                                     norms of every image), computed on the device only then
    writer.end()                     once, after the last step: everything pushed is stored
    writer.metrics()                 then: every metric as (steps, images) arrays, for the run record

Nothing on that path copies to the host per step: `push` keeps a reference, and every `FLUSH_STEPS`
steps (or when a reader drains) the held logits become the STEP_METRICS in one batched computation on
the device (`step_metrics`) and one copy, so a GPU synchronises once per flush, not once per step. The
writer, not the attack, sets the frame rate: norms and top-k cost a pass over the images, so they are
taken at the rate a person can see (`frame_interval_s`), and never so often that computing them takes
more than `frame_budget` of the loop's time (the writer times each frame between `frame_due` and
`offer_frame`: on a loaded machine or a big batch, where a step is slow, frames come fewer steps apart
otherwise).

`Telemetry` is the plain in-process implementation (the GUI's worker thread writes, its timer reads,
`execute` builds the run record from it). The engine process provides the same writer interface over
multiprocessing.shared_memory: ring buffers of the STEP_METRICS (steps x images, float64, filled by
`step_metrics` at each flush) beside ring buffers of the FRAME_METRICS with their step indices, and a
one-slot frame mailbox (a sequence number, the shown image as float32 CHW, top-k, the norms) that a
torch-free reader copies from when the sequence number changes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from .metrics import FRAME_METRICS, METRIC_NAMES, STEP_METRICS

if TYPE_CHECKING:
    from .criteria import Criterion

FRAME_INTERVAL_S = 1 / 60  # frames at most this often: above the GUI's 30 Hz, far below an attack's step rate
FRAME_BUDGET = 0.01  # and at most this share of the loop's time goes into frames (slow steps, big batches)
FLUSH_STEPS = 64  # pushed logits held at most this many steps before they become metrics on the host


@dataclass
class StepFrame:
    """Display data for one step, offered when the writer asks for it (device tensors, copies)."""

    index: int
    stage: str
    image: int  # which image of the batch is shown
    x_adv: torch.Tensor  # (C, H, W) the shown image's iterate
    topk_prob: torch.Tensor  # (k,) of the shown image
    topk_index: torch.Tensor  # (k,)
    success: torch.Tensor  # (N,) bool
    norms: torch.Tensor  # (len(FRAME_METRICS), N): l0, l1, l2, linf of every image


class TelemetryWriter(Protocol):
    """What the attack loop needs from a telemetry (see the module docstring for the contract)."""

    def begin(self, criterion: Criterion) -> None: ...

    def push(self, index: int, logits: torch.Tensor) -> None: ...

    def frame_due(self) -> bool: ...

    def offer_frame(self, frame: StepFrame) -> None: ...

    def end(self) -> None: ...

    def metrics(self) -> dict[str, np.ndarray]: ...


def step_metrics(logits: torch.Tensor, criterion: Criterion) -> np.ndarray:
    """The STEP_METRICS of S steps from their logits (S, N, classes): a float64 (S, metrics, N) host array.

    One batched computation on the logits' device and one copy; the same functions the attacks use
    (the criterion's loss, margin and success), so the numbers do not depend on when they are taken.
    """
    from .criteria import make_criterion

    s, n, c = logits.shape
    flat = logits.reshape(s * n, c)
    targets = criterion.target_classes
    flat_criterion = make_criterion(criterion.labels.repeat(s), None if targets is None else targets.repeat(s))
    probs = flat.softmax(dim=1)
    true_prob = probs.gather(1, flat_criterion.labels[:, None])[:, 0]
    target_prob = (probs.gather(1, flat_criterion.targets[:, None])[:, 0] if targets is not None
                   else torch.full_like(true_prob, float("nan")))
    success = flat_criterion.is_adversarial(flat).to(flat.dtype)
    values = torch.stack([flat_criterion.loss(flat), flat_criterion.margin(flat), true_prob, target_prob, success])
    return values.reshape(len(STEP_METRICS), s, n).permute(1, 0, 2).to(torch.float64).cpu().numpy()


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

    def set_row(self, row: int, values: np.ndarray) -> None:
        """Overwrite one row held (0 = the oldest)."""
        self._data[row] = values

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
    """Host copies of one frame's numbers for its shown image."""

    index: int
    stage: str
    metrics: dict[str, float]  # success and the FRAME_METRICS
    topk_prob: np.ndarray
    topk_index: np.ndarray


class Telemetry:
    """The in-process `TelemetryWriter` and its reader: thread-safe, bounded, never waits for a reader.

    The writer's cost per step is a list append and a clock read. Readers call `drain()` at their own
    pace (it turns the held logits into metrics on the host), `latest()` for the newest frame, or
    `drain_latest()` for both at once, so the frame and the series drawn beside it agree; `snapshot()`
    reads the step indices and series together. Series of the FRAME_METRICS hold NaN on steps without
    a frame.
    """

    def __init__(self, batch: int = 1, capacity: int = 100_000, frame_interval_s: float = FRAME_INTERVAL_S,
                 flush_steps: int = FLUSH_STEPS, frame_budget: float = FRAME_BUDGET):
        self._lock = threading.Lock()
        # drain() runs on the GUI timer and on the worker (every flush_steps pushes, and at the end of a
        # run): one at a time, or a reader copies some buffers before and some after the other extended them.
        self._drain_lock = threading.RLock()
        self.frame_interval_s = frame_interval_s
        self.frame_budget = frame_budget
        self._frame_cost = 0.0  # seconds the last frame took to compute
        self._due_at: float | None = None
        self.flush_steps = max(1, int(flush_steps))
        self._criterion: Criterion | None = None
        self._pending: list[tuple[int, torch.Tensor]] = []
        self._pending_frames: list[tuple[int, torch.Tensor]] = []  # (step index, norms) not stored yet
        self._latest: StepFrame | None = None
        self._last_frame_at = -math.inf
        self._version = 0
        self.buffers = {name: RingBuffer(batch, capacity) for name in METRIC_NAMES}
        self.step_indices = RingBuffer(1, capacity)
        self.steps_seen = 0
        self.frames_seen = 0

    # ------------------------------------------------------------------------------- writer side
    def begin(self, criterion: Criterion) -> None:
        self._criterion = criterion

    def push(self, index: int, logits: torch.Tensor) -> None:
        """Called by the attack loop for each step: a reference is kept, nothing is computed or copied.

        A full buffer is flushed before the new step joins it, so the newest step is still pending when
        its frame comes: its row is stored (and, in the engine process, published) with its norms.
        """
        if len(self._pending) >= self.flush_steps:
            self.drain()
        with self._lock:
            self._pending.append((index, logits))
            self._version += 1

    def frame_due(self) -> bool:
        if self.frame_interval_s <= 0:
            return True
        now = time.perf_counter()
        gap = self.frame_interval_s
        if self.frame_budget > 0:
            gap = max(gap, self._frame_cost / self.frame_budget)
        if now - self._last_frame_at < gap:
            return False
        self._due_at = now
        return True

    def offer_frame(self, frame: StepFrame) -> None:
        now = time.perf_counter()
        with self._lock:
            self._latest = frame
            self._pending_frames.append((frame.index, frame.norms))
            self._last_frame_at = now
            self.frames_seen += 1
        if self._due_at is not None:  # what computing this frame cost the loop
            self._frame_cost, self._due_at = now - self._due_at, None

    def end(self) -> None:
        self.drain()

    # ------------------------------------------------------------------------------- reader side
    def drain(self) -> int:
        """Move what was pushed into the host ring buffers; returns how many steps arrived."""
        with self._drain_lock:
            with self._lock:
                pending, self._pending = self._pending, []
                frames, self._pending_frames = self._pending_frames, []
            return self._store(pending, frames)

    def drain_latest(self) -> tuple[int, StepFrame | None]:
        """Drain, and return (version, newest frame) as of that drain: the buffers then reach that frame.

        A reader that drained and then read `latest()` could get a frame offered in between, of a step
        its series do not hold yet (a frame at step k beside a curve that stops at k - 1).
        """
        with self._drain_lock:
            with self._lock:
                pending, self._pending = self._pending, []
                frames, self._pending_frames = self._pending_frames, []
                version, latest = self._version, self._latest
            self._store(pending, frames)
            return version, latest

    def _store(self, pending: list[tuple[int, torch.Tensor]], frames: list[tuple[int, torch.Tensor]]) -> int:
        if pending:
            if self._criterion is None:
                raise RuntimeError("Telemetry.begin(criterion) must come before the first push")
            values = step_metrics(torch.stack([logits for _, logits in pending]), self._criterion)
            for k, name in enumerate(STEP_METRICS):
                self.buffers[name].extend(values[:, k])
            blank = np.full(values[:, 0].shape, np.nan)
            for name in FRAME_METRICS:
                self.buffers[name].extend(blank)
            self.step_indices.extend(np.array([[index] for index, _ in pending], np.float64))
            self.steps_seen += len(pending)
        if frames:
            norms = torch.stack([n for _, n in frames]).to(torch.float64).cpu().numpy()
            held = self.step_indices.array()[:, 0]
            for (index, _), values in zip(frames, norms, strict=True):
                tail = max(len(held) - 4 * self.flush_steps, 0)  # frames are of recent steps: look there first
                rows = np.flatnonzero(held[tail:] == index) + tail
                if not len(rows):
                    rows = np.flatnonzero(held == index)
                if not len(rows):
                    continue  # dropped out of the ring already
                for k, name in enumerate(FRAME_METRICS):
                    self.buffers[name].set_row(int(rows[-1]), values[k])
        return len(pending)

    def latest(self) -> tuple[int, StepFrame | None]:
        """(version, newest frame); the version counts pushed steps, so it changes whenever one arrives."""
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
        at a flush or the end of a run) between two calls would make the steps and the series differ
        in length.
        """
        with self._drain_lock:
            steps = self.step_indices.array()[:, 0].copy()
            return steps, {name: self.buffers[name].array()[:, image].copy() for name in names}

    def metrics(self) -> dict[str, np.ndarray]:
        """Every metric as a (steps, images) array copy (FRAME_METRICS NaN on steps without a frame)."""
        with self._drain_lock:
            self.drain()
            return {name: buf.array().copy() for name, buf in self.buffers.items()}


def summarize(frame: StepFrame) -> StepSummary:
    """Host copies of a frame's numbers for its shown image (one small device-to-host copy)."""
    image = frame.image
    values = torch.cat([frame.success[image:image + 1].to(torch.float64),
                        frame.norms[:, image].to(torch.float64)]).cpu().numpy()
    return StepSummary(
        index=frame.index,
        stage=frame.stage,
        metrics=dict(zip(("success", *FRAME_METRICS), values.tolist(), strict=True)),
        topk_prob=frame.topk_prob.detach().cpu().numpy(),
        topk_index=frame.topk_index.detach().cpu().numpy(),
    )
