"""Telemetry across the process boundary: per-step scalars in a shared-memory ring buffer and the newest
frame in a one-slot shared-memory mailbox. numpy only (no torch): the GUI process reads it.

Design note. One `multiprocessing.shared_memory` segment per attack run, made by the engine process
(the writer) and described to the GUI process by a plain `TelemetryLayout` sent over the command
channel. Its parts:

- a header of int64 counters: rows published, the frame's sequence number, the reader's
  acknowledgement of the last frame it took, a closed flag, and the steps pushed so far (updated on
  every step, a single store, so the GUI's step counter is never behind);
- the ring: `capacity` rows of float64, one per step (the step index, then every metric for every
  image of the batch). The writer fills rows and only then publishes the new count, so a reader
  never sees a row before it is whole; a reader that fell most of a ring behind drops the oldest
  rows it missed and says how many (`dropped`);
- the frame mailbox: the newest adversarial image (image 0, H x W x C float32, display-ready), its
  top-k, its metrics and its stage text, guarded by a seqlock: the writer makes the sequence number
  odd, writes, makes it even; a reader copies and keeps the copy only if the number was even and
  unchanged across the copy, so it never shows a torn frame.

The writer offers a frame only when one is due: at most `max_fps` a second, and only after the
reader took the previous one, so a GUI that draws slowly costs the engine nothing but a clock read
(on a GPU each copy off the device would synchronise it). Rows are published on the same clock.
Whoever makes a segment unlinks it (`close()`); a reader only closes its mapping, and unlinks a
segment by name (`unlink_segment`) only when its writer died without doing so.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing import shared_memory

import numpy as np

from .metrics import METRIC_NAMES, TOP_K

MAGIC = 0x4144564C454E5301  # "ADVLENS" + layout version 1
STAGE_BYTES = 96
HEADER = ("magic", "rows", "frame_seq", "frame_ack", "closed", "pushed")
FRAME_SCALARS = ("step", "elapsed_s")  # then the metrics of image 0, then top-k probabilities and indices
DEFAULT_CAPACITY = 8192


@dataclass(frozen=True)
class TelemetryLayout:
    """Where and how one run's telemetry lies in shared memory (plain data, sent to the reader)."""

    name: str
    batch: int
    image_shape: tuple[int, int, int]  # (H, W, C) of image 0, as drawn
    capacity: int = DEFAULT_CAPACITY
    metrics: tuple[str, ...] = METRIC_NAMES
    top_k: int = TOP_K

    @property
    def row_width(self) -> int:
        return 1 + len(self.metrics) * self.batch

    @property
    def frame_scalars(self) -> int:
        return len(FRAME_SCALARS) + len(self.metrics) + 2 * self.top_k

    def offsets(self) -> dict[str, tuple[int, int]]:
        """(byte offset, byte size) of each part; every part starts 8-byte aligned."""
        h, w, c = self.image_shape
        sizes = {
            "header": 8 * len(HEADER),
            "rows": 8 * self.capacity * self.row_width,
            "frame_scalars": 8 * self.frame_scalars,
            "frame_image": 4 * h * w * c,
            "frame_stage": STAGE_BYTES,
        }
        offsets, at = {}, 0
        for part, size in sizes.items():
            offsets[part] = (at, size)
            at += (size + 7) // 8 * 8
        return offsets

    @property
    def size(self) -> int:
        start, size = list(self.offsets().values())[-1]
        return start + size


@dataclass
class FrameData:
    """One frame as the reader took it: copies, safe to keep."""

    step: int
    stage: str
    image: np.ndarray  # (H, W, C) float32 in [0, 1]: the adversarial image 0
    metrics: dict[str, float]
    topk_prob: np.ndarray  # (k,)
    topk_index: np.ndarray  # (k,) int
    elapsed_s: float
    sequence: int = 0


@dataclass
class SeriesData:
    """Every step read so far for one image: step indices and one array per metric (copies)."""

    steps: np.ndarray
    series: dict[str, np.ndarray] = field(default_factory=dict)


class SharedTelemetry:
    """One run's segment, as its writer (`create`) or a reader (`attach`)."""

    def __init__(self, layout: TelemetryLayout, segment: shared_memory.SharedMemory, owner: bool):
        self.layout = layout
        self.owner = owner
        self._segment = segment
        buf = segment.buf
        off = layout.offsets()
        self.header = np.ndarray((len(HEADER),), np.int64, buf, off["header"][0])
        self.rows = np.ndarray((layout.capacity, layout.row_width), np.float64, buf, off["rows"][0])
        self.frame_scalars = np.ndarray((layout.frame_scalars,), np.float64, buf, off["frame_scalars"][0])
        self.frame_image = np.ndarray(layout.image_shape, np.float32, buf, off["frame_image"][0])
        self.frame_stage = np.ndarray((STAGE_BYTES,), np.uint8, buf, off["frame_stage"][0])
        self._closed = False

    # ------------------------------------------------------------------ life cycle
    @classmethod
    def create(cls, batch: int, image_shape: Sequence[int], capacity: int = DEFAULT_CAPACITY,
               metrics: Sequence[str] = METRIC_NAMES, top_k: int = TOP_K) -> SharedTelemetry:
        name = f"advlens-{secrets.token_hex(6)}"
        layout = TelemetryLayout(name=name, batch=int(batch), image_shape=tuple(int(v) for v in image_shape),
                                 capacity=int(capacity), metrics=tuple(metrics), top_k=int(top_k))
        segment = shared_memory.SharedMemory(name=name, create=True, size=layout.size)
        telemetry = cls(layout, segment, owner=True)
        telemetry.header[:] = 0
        telemetry.header[HEADER.index("magic")] = MAGIC
        return telemetry

    @classmethod
    def attach(cls, layout: TelemetryLayout) -> SharedTelemetry:
        """Map a writer's segment; FileNotFoundError once the writer has unlinked it."""
        telemetry = cls(layout, shared_memory.SharedMemory(name=layout.name, create=False), owner=False)
        if int(telemetry.header[0]) != MAGIC:
            telemetry.close()
            raise ValueError(f"shared memory {layout.name} does not hold AdvLens telemetry")
        return telemetry

    def close(self, unlink: bool | None = None) -> None:
        """Drop this process's mapping; the owner (or `unlink=True`) also removes the segment."""
        if self._closed:
            return
        self._closed = True
        for name in ("header", "rows", "frame_scalars", "frame_image", "frame_stage"):
            setattr(self, name, None)
        try:
            self._segment.close()
        except BufferError:  # a caller still holds a view: the mapping goes when it does
            pass
        if self.owner if unlink is None else unlink:
            try:
                self._segment.unlink()
            except FileNotFoundError:
                pass

    @property
    def closed(self) -> bool:
        return self._closed

    def _get(self, field_name: str) -> int:
        return int(self.header[HEADER.index(field_name)])

    def _set(self, field_name: str, value: int) -> None:
        self.header[HEADER.index(field_name)] = value

    # ------------------------------------------------------------------ the writer's side
    def write_rows(self, steps: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Append rows: `steps` (n,), each metric (n, batch); published only once all are written."""
        n = len(steps)
        if n == 0:
            return
        cap, batch = self.layout.capacity, self.layout.batch
        block = np.empty((n, self.layout.row_width), np.float64)
        block[:, 0] = steps
        for m, name in enumerate(self.layout.metrics):
            block[:, 1 + m * batch: 1 + (m + 1) * batch] = np.asarray(values[name], np.float64).reshape(n, batch)
        start = self._get("rows")
        if n > cap:  # more than a ring at once: only the newest fit
            block, start, n = block[-cap:], start + n - cap, cap
        first = start % cap
        head = min(n, cap - first)
        self.rows[first:first + head] = block[:head]
        if head < n:
            self.rows[: n - head] = block[head:]
        self._set("rows", start + n)

    def note_pushed(self, count: int) -> None:
        """Steps the run has made so far (rows follow when the next frame is due)."""
        self._set("pushed", count)

    def frame_wanted(self) -> bool:
        """True when the reader took the last frame (or none was written yet)."""
        return self._get("frame_ack") >= self._get("frame_seq")

    def write_frame(self, step: int, stage: str, image: np.ndarray, metrics: dict[str, float],
                    topk_prob: np.ndarray, topk_index: np.ndarray, elapsed_s: float) -> None:
        """Replace the mailbox's frame (seqlock: odd while writing, even when whole)."""
        seq = self._get("frame_seq")
        seq += 1 if seq % 2 == 0 else 0
        self._set("frame_seq", seq)  # odd: a reader that looks now retries
        k = self.layout.top_k
        scalars = np.full(self.layout.frame_scalars, np.nan)
        scalars[0], scalars[1] = step, elapsed_s
        base = len(FRAME_SCALARS)
        for m, name in enumerate(self.layout.metrics):
            scalars[base + m] = metrics.get(name, np.nan)
        base += len(self.layout.metrics)
        prob = np.asarray(topk_prob, np.float64).reshape(-1)[:k]
        index = np.asarray(topk_index, np.float64).reshape(-1)[:k]
        scalars[base:base + len(prob)] = prob
        scalars[base + k:base + k + len(index)] = index
        self.frame_scalars[:] = scalars
        self.frame_image[...] = np.asarray(image, np.float32).reshape(self.layout.image_shape)
        text = stage.encode("utf-8")[:STAGE_BYTES - 1]
        self.frame_stage[:] = 0
        self.frame_stage[:len(text)] = np.frombuffer(text, np.uint8)
        self._set("frame_seq", seq + 1)

    def mark_closed(self) -> None:
        """The run ended: nothing more will be written."""
        self._set("closed", 1)

    # ------------------------------------------------------------------ the reader's side
    @property
    def rows_published(self) -> int:
        return self._get("rows")

    @property
    def finished(self) -> bool:
        return self._get("closed") == 1

    @property
    def steps_pushed(self) -> int:
        return self._get("pushed")

    def read_rows(self, since: int) -> tuple[np.ndarray, int, int]:
        """Rows published after row `since`: (rows copy, new count, rows lost to the ring)."""
        cap = self.layout.capacity
        count = self._get("rows")
        if count <= since:
            return np.empty((0, self.layout.row_width)), since, 0
        # the oldest eighth of a full ring may be under the writer's next block (written before it is
        # published): a reader that fell that far behind skips it
        first = max(since, count - cap + cap // 8)
        idx = np.arange(first, count) % cap
        block = self.rows[idx].copy()
        after = self._get("rows")
        overwritten = max(after - cap - first, 0)  # rows the writer wrapped onto while we copied
        if overwritten:
            block, first = block[overwritten:], first + overwritten
        return block, count, first - since

    def read_frame(self, after: int = 0, attempts: int = 4) -> FrameData | None:
        """The mailbox's frame if it is newer than sequence `after`, else None; acknowledges it."""
        for _ in range(attempts):
            seq = self._get("frame_seq")
            if seq == 0 or seq <= after:
                return None
            if seq % 2:
                continue
            scalars = self.frame_scalars.copy()
            image = self.frame_image.copy()
            stage = bytes(self.frame_stage).split(b"\0", 1)[0].decode("utf-8", "replace")
            if self._get("frame_seq") != seq:
                continue
            self._set("frame_ack", seq)
            return self._frame(scalars, image, stage, seq)
        return None

    def _frame(self, scalars: np.ndarray, image: np.ndarray, stage: str, seq: int) -> FrameData:
        k, names = self.layout.top_k, self.layout.metrics
        base = len(FRAME_SCALARS)
        metrics = {name: float(scalars[base + m]) for m, name in enumerate(names)}
        base += len(names)
        prob, index = scalars[base:base + k], scalars[base + k:base + 2 * k]
        keep = np.isfinite(index)
        return FrameData(step=int(scalars[0]), stage=stage, image=image, metrics=metrics,
                         topk_prob=prob[keep].astype(np.float64), topk_index=index[keep].astype(np.int64),
                         elapsed_s=float(scalars[1]), sequence=seq)


def unlink_segment(name: str) -> bool:
    """Remove a segment by name (the writer's, or one a crashed writer left); False if it was gone.

    The engine process shares the GUI process's resource tracker (multiprocessing passes it to a
    spawned child), which holds each segment once: attaching adds nothing, unlinking takes it off.
    """
    try:
        segment = shared_memory.SharedMemory(name=name, create=False)
    except FileNotFoundError:
        return False
    segment.close()
    try:
        segment.unlink()
    except FileNotFoundError:
        return False
    return True


class TelemetryReader:
    """The GUI's side of one run: keeps every row it has read (the ring holds only the newest) and
    takes the newest frame, never waiting for the engine."""

    def __init__(self, layout: TelemetryLayout, grow_to: int = 1_000_000):
        self.layout = layout
        self.shared = SharedTelemetry.attach(layout)
        self._rows = np.empty((min(1024, grow_to), layout.row_width), np.float64)
        self._count = 0
        self._seen = 0  # rows published that we have looked at
        self._grow_to = grow_to
        self.dropped = 0
        self._frame_seq = 0
        self.last_frame: FrameData | None = None

    def update(self) -> int:
        """Copy the rows published since the last call; returns how many arrived."""
        if self.shared.closed:
            return 0
        block, self._seen, lost = self.shared.read_rows(self._seen)
        self.dropped += lost
        n = len(block)
        if n:
            needed = self._count + n
            if needed > len(self._rows):
                size = min(max(needed, 2 * len(self._rows)), self._grow_to)
                if size < needed:  # beyond what we keep: the oldest go
                    keep = max(size - n, 0)
                    self._rows[:keep] = self._rows[self._count - keep:self._count]
                    self.dropped += self._count - keep
                    self._count = keep
                    block = block[-size:]
                    n = len(block)
                else:
                    grown = np.empty((size, self.layout.row_width), np.float64)
                    grown[: self._count] = self._rows[: self._count]
                    self._rows = grown
            self._rows[self._count:self._count + n] = block
            self._count += n
        return n

    @property
    def steps_seen(self) -> int:
        """Rows published by the writer so far (every step of the run, whether kept or not)."""
        return self._seen

    def frame(self) -> FrameData | None:
        """The newest frame if one arrived since the last call, else None."""
        if self.shared.closed:
            return None
        frame = self.shared.read_frame(self._frame_seq)
        if frame is not None:
            self._frame_seq = frame.sequence
            self.last_frame = frame
        return frame

    def series(self, names: Sequence[str] | None = None, image: int = 0) -> SeriesData:
        """Copies of the step indices and the named metrics (default: all) for one image."""
        rows = self._rows[: self._count]
        names = list(names) if names is not None else list(self.layout.metrics)
        batch = self.layout.batch
        data = SeriesData(steps=rows[:, 0].astype(np.int64))
        for name in names:
            m = self.layout.metrics.index(name)
            data.series[name] = rows[:, 1 + m * batch + image].copy()
        return data

    @property
    def finished(self) -> bool:
        return not self.shared.closed and self.shared.finished

    def close(self) -> None:
        self.shared.close(unlink=False)
