"""Per-step scalars of an attack run on a set of images, batch by batch, for a diagnosis afterwards.

A sweep's pieces run without a `Telemetry` (nobody watches them live); a `StepTrace` keeps what the
indicators read (the same metric names as a record's `metrics`, every one on every step: the norms
too, since a diagnosis reads the attack's norm per step) at the cost of one norm pass per step on the
device and one small host copy per batch. The STEP_METRICS come from the step's logits in one batched
computation (`telemetry.step_metrics`), the numbers a record holds. Batches whose attack stopped early
are padded with their last step: an attack that stopped leaves its images where they were.
"""

from __future__ import annotations

import numpy as np
import torch

from ..attacks.base import Step
from ..criteria import Criterion
from ..metrics import FRAME_METRICS, METRIC_NAMES, STEP_METRICS
from ..norms import display_norms
from ..telemetry import step_metrics


class StepTrace:
    """Collects every step's metrics; `metrics()` gives name -> (steps, images) float arrays.

    Per batch: `begin_batch(criterion)`, `add(step)` for each step, `end_batch()`.
    """

    def __init__(self) -> None:
        self._criterion: Criterion | None = None
        self._logits: list[torch.Tensor] = []
        self._norms: list[torch.Tensor] = []
        self._done: list[dict[str, np.ndarray]] = []

    def begin_batch(self, criterion: Criterion) -> None:
        self.end_batch()
        self._criterion = criterion

    def add(self, step: Step) -> None:
        self._logits.append(step.logits)
        self._norms.append(display_norms(step.x_adv - step.x))  # on the device: no host copy per step

    def end_batch(self) -> None:
        """The current batch is over: copy its metrics to the host in one go."""
        if not self._logits:
            return
        if self._criterion is None:
            raise RuntimeError("StepTrace.begin_batch(criterion) must come before the first step of a batch")
        values = step_metrics(torch.stack(self._logits), self._criterion)  # (steps, STEP_METRICS, images)
        norms = torch.stack(self._norms).to(torch.float64).cpu().numpy()  # (steps, FRAME_METRICS, images)
        batch = {name: values[:, k] for k, name in enumerate(STEP_METRICS)}
        batch.update({name: norms[:, k] for k, name in enumerate(FRAME_METRICS)})
        self._done.append(batch)
        self._logits, self._norms = [], []
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
