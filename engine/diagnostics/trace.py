"""Per-step scalars of an attack run on a set of images, batch by batch, for a diagnosis afterwards.

A sweep's pieces run without a `Telemetry` (nobody watches them live); a `StepTrace` keeps what the
indicators read (the same metric names as a record's `metrics`) at the cost of one small host copy per
batch. Batches whose attack stopped early are padded with their last step: an attack that stopped
leaves its images where they were.
"""

from __future__ import annotations

import numpy as np
import torch

from ..attacks.base import Step
from ..metrics import METRIC_NAMES


class StepTrace:
    """Collects `Step` scalars; `metrics()` gives name -> (steps, images) float arrays."""

    def __init__(self) -> None:
        self._batch: list[Step] = []
        self._done: list[dict[str, np.ndarray]] = []

    def add(self, step: Step) -> None:
        self._batch.append(step)

    def end_batch(self) -> None:
        """The current batch is over: copy its scalars to the host in one go."""
        if not self._batch:
            return
        self._done.append({name: torch.stack([getattr(s, name) for s in self._batch]).to(torch.float64).cpu().numpy()
                           for name in METRIC_NAMES})
        self._batch = []

    def metrics(self) -> dict[str, np.ndarray]:
        self.end_batch()
        if not self._done:
            return {}
        rows = max(next(iter(b.values())).shape[0] for b in self._done)
        out = {}
        for name in METRIC_NAMES:
            parts = []
            for batch in self._done:
                values = batch[name]
                if len(values) < rows:
                    values = np.concatenate([values, np.repeat(values[-1:], rows - len(values), axis=0)])
                parts.append(values)
            out[name] = np.concatenate(parts, axis=1)
        return out
