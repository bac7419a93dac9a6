"""The step-wise attack protocol: an attack's `steps()` yields one `Step` per iteration.

A runner can then pause, single-step, cancel and stream telemetry between iterations without the
attack knowing. A step costs the loop nothing beyond the attack itself: it holds references to what
the iteration already computed (the iterate, the logits of the forward that made its gradient, the
success mask) and copies nothing to the host. The per-step metrics (loss, margin, probabilities) are
derived from those logits by the telemetry, in bulk; the norms and top-k only when the telemetry asks
for a frame (`Step.frame()`), on the device.

The contract for attacks: tensors a step refers to are never modified in place afterwards (every
iteration makes new ones), so a reader may keep them until the run ends.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..catalogue import AttackSpec
from ..config import AttackConfig
from ..criteria import Criterion
from ..errors import AttackFailed, Cancelled
from ..metrics import TOP_K
from ..norms import display_norms, lp_norm
from ..telemetry import StepFrame


@dataclass(eq=False, slots=True)
class Step:
    """An attack's iterate after one iteration (index 0 is the starting point), by reference."""

    index: int
    stage: str
    x: torch.Tensor  # (N, C, H, W) the clean batch
    x_adv: torch.Tensor  # (N, C, H, W) the iterate, on the attack's device; not a copy
    logits: torch.Tensor  # (N, classes) of x_adv, detached
    success: torch.Tensor  # (N,) bool: the criterion is met at x_adv

    def frame(self, image: int = 0) -> StepFrame:
        """Display data for this step: norms of every image, top-k and a copy of image `image` (device ops)."""
        norms = display_norms(self.x_adv - self.x)  # rows in FRAME_METRICS order
        probs = self.logits[image].softmax(dim=0)
        topk_prob, topk_index = probs.topk(min(TOP_K, probs.shape[0]))
        return StepFrame(index=self.index, stage=self.stage, image=image, x_adv=self.x_adv[image].clone(),
                         topk_prob=topk_prob, topk_index=topk_index, success=self.success.clone(), norms=norms)


@dataclass
class AttackResult:
    x_adv: torch.Tensor
    success: torch.Tensor
    steps_run: int
    logits: torch.Tensor | None = None  # of x_adv when the attack has them (no forward needed for the record)


def measure(index: int, stage: str, x: torch.Tensor, x_adv: torch.Tensor, logits: torch.Tensor,
            criterion: Criterion) -> Step:
    """The step for an iterate, from logits the attack already computed: no extra forward, two small ops."""
    logits = logits.detach()
    return Step(index=index, stage=stage, x=x, x_adv=x_adv.detach(), logits=logits,
                success=criterion.is_adversarial(logits))


def loss_and_gradient(model, x_adv: torch.Tensor, loss_fn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, per-image loss, gradient of the summed loss w.r.t. the input), graph freed."""
    x_adv = x_adv.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x_adv)
        losses = loss_fn(logits)
        (grad,) = torch.autograd.grad(losses.sum(), x_adv)
    return logits.detach(), losses.detach(), grad


def total_and_gradient(model, x_adv: torch.Tensor, total_fn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, the batch's summed loss (0-d), its gradient w.r.t. the input): the fewest ops for a step."""
    x_adv = x_adv.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x_adv)
        total = total_fn(logits)
        (grad,) = torch.autograd.grad(total, x_adv)
    return logits.detach(), total.detach(), grad


def per_image(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape (N,) to broadcast against (N, C, H, W)."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


def syncs_are_cheap(device: torch.device) -> bool:
    """On the CPU reading a value back costs nothing; on a GPU it stalls the queue of kernels."""
    return device.type == "cpu"


class FiniteCheck:
    """Finds the first step whose loss or gradient was NaN/Inf, looking only now and then.

    `update` keeps a reference to the step's loss (any shape; no op); every `every` steps, and at the
    end, the losses held are checked in one go with the gradient of that step, so a GPU synchronises
    once per check, not per step, and the error still names the exact first bad step. A NaN gradient
    makes the next iterate, and so the next step's loss, NaN: watching the losses catches it.
    """

    def __init__(self, device: torch.device | None = None, every: int = 8):
        self.every = every
        self._held: list[tuple[int, torch.Tensor]] = []
        self._look_now = device is not None and syncs_are_cheap(device)

    def update(self, index: int, loss: torch.Tensor, *others: torch.Tensor) -> None:
        """Hold the loss; on checking steps check it and the rest held, with `others` (the gradients).

        Where reading a value back is free (the CPU) a scalar loss is looked at at once instead.
        """
        if self._look_now and loss.dim() == 0 and not self._held:
            if not math.isfinite(loss.item()):
                self._raise(index)
        else:
            self._held.append((index, loss.detach()))
        if index % self.every == 0:
            self._check(index, others)

    def _check(self, index: int | None = None, others: tuple[torch.Tensor, ...] = ()) -> None:
        held, self._held = self._held, []
        bad: int | None = None
        if held:
            values = torch.cat([v.reshape(-1) for _, v in held])
            finite = torch.isfinite(values)
            if not bool(finite.all()):
                first = int((~finite).nonzero()[0, 0])
                ends = torch.tensor([v.numel() for _, v in held]).cumsum(0)
                bad = held[int((ends <= first).sum())][0]
        if bad is None and others and not all(bool(torch.isfinite(t).all()) for t in others):
            bad = index
        if bad is not None:
            self._raise(bad)

    @staticmethod
    def _raise(index: int) -> None:
        raise AttackFailed(f"the loss or its gradient became NaN/Inf at step {index}; the run stopped there")

    def raise_if_bad(self) -> None:
        """Check whatever is still held (call at the end of an attack)."""
        self._check()


class LatestAdversarial:
    """Per image, the latest iterate that met the criterion, so a later failed step cannot lose it.

    Instead of a full-batch `torch.where` every step, the iterate before each step is held by
    reference (free: attacks make new tensors each step) and copied only when an image that was
    adversarial stops being so. On the CPU that happens only when it does (the check reads N bools,
    cheaper than any torch op); on a GPU, where a check would synchronise, the copy runs every step
    without reading anything back.
    """

    def __init__(self, x: torch.Tensor):
        self._cheap_sync = syncs_are_cheap(x.device)
        self._prev: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # x_adv, logits, success
        self._prev_host: list[bool] = []  # the previous success, read back (CPU only)
        self.best: torch.Tensor | None = None
        self.best_logits: torch.Tensor | None = None
        self.saved = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)

    def update(self, x_adv: torch.Tensor, logits: torch.Tensor, success: torch.Tensor) -> None:
        previous, self._prev = self._prev, (x_adv, logits, success)
        if self._cheap_sync:
            now = success.tolist()
            lost_any = any(p and not c for p, c in zip(self._prev_host, now, strict=False))  # none before step 0
            self._prev_host = now
            if not lost_any:
                return
        if previous is None:
            return
        prev_x, prev_logits, prev_success = previous
        lost = prev_success > success  # adversarial at the previous step, not any more
        if self.best is None:
            self.best, self.best_logits = prev_x.clone(), prev_logits.clone()
        self.best = torch.where(per_image(lost, prev_x), prev_x, self.best)
        self.best_logits = torch.where(lost[:, None], prev_logits, self.best_logits)
        self.saved = self.saved | lost

    def result(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x_adv, success, logits): the last iterate, or the latest adversarial one where it was lost."""
        assert self._prev is not None, "no step was seen"
        x_adv, logits, success = self._prev
        if self.best is None:
            return x_adv, success, logits
        use_best = self.saved & ~success
        return (torch.where(per_image(use_best, x_adv), self.best, x_adv), success | self.saved,
                torch.where(use_best[:, None], self.best_logits, logits))


class Attack(ABC):
    """A step-wise attack on a batch: `steps()` is a generator of `Step`s returning an `AttackResult`."""

    spec: ClassVar[AttackSpec]
    has_fast_step = False  # whether `fast` (a compiled, replayed step: attacks/fast.py) changes anything

    def __init__(self, config: AttackConfig, fast: bool = False):
        self.config = config
        self.fast = fast

    def param(self, name: str) -> float:
        """An attack-specific setting from the config, else its default."""
        return self.spec.param_value(self.config, name)

    @abstractmethod
    def steps(self, model: torch.nn.Module, x: torch.Tensor, criterion: Criterion,
              generator: torch.Generator) -> Generator[Step, None, AttackResult]:
        """Yield one Step per iteration; return the result."""


class Restarted(Attack):
    """Run an attack several times from new random starts and keep, per image, the best outcome.

    Best means: for fixed-budget attacks the first adversarial found; for minimal-norm attacks the
    smallest adversarial perturbation. Step indices keep counting across restarts.
    """

    def __init__(self, inner: Attack):
        super().__init__(inner.config, inner.fast)
        self.inner = inner
        self.spec = inner.spec
        self.has_fast_step = inner.has_fast_step

    def steps(self, model, x, criterion, generator):
        total = self.config.restarts
        best = x.clone()
        best_logits: torch.Tensor | None = None  # of `best`, while every result so far came with logits
        found = torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
        best_norm = torch.full((x.shape[0],), float("inf"), device=x.device)
        offset = 0
        for r in range(total):
            gen = self.inner.steps(model, x, criterion, generator)
            last = -1
            while True:
                try:
                    step = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    break
                last = step.index
                step.index += offset
                step.stage = f"{step.stage} · restart {r + 1}/{total}"
                yield step
            offset += last + 1
            if self.spec.is_minimal:
                norms = lp_norm(result.x_adv - x, self.config.norm)
                better = result.success & (norms < best_norm)
                best_norm = torch.where(better, norms, best_norm)
            else:
                better = result.success & ~found
                if r == 0:
                    best = result.x_adv.clone()
            best = torch.where(per_image(better, x), result.x_adv, best)
            if self.spec.is_minimal or result.logits is None or (r > 0 and best_logits is None):
                best_logits = None  # a minimal attack keeps the clean image where it failed: no logits for it here
            else:
                best_logits = result.logits if r == 0 else torch.where(better[:, None], result.logits, best_logits)
            found = found | result.success
            if not self.spec.is_minimal and bool(found.all()):
                break
        return AttackResult(x_adv=best, success=found, steps_run=offset - 1, logits=best_logits)


class AttackRun:
    """Iterate an attack step by step and keep its result; `cancel()` closes it between steps."""

    def __init__(self, attack: Attack, model: torch.nn.Module, x: torch.Tensor, criterion: Criterion,
                 generator: torch.Generator):
        self._gen = attack.steps(model, x, criterion, generator)
        self.result: AttackResult | None = None
        self.last_step: Step | None = None
        self.cancelled = False

    def __iter__(self) -> Iterator[Step]:
        return self

    def __next__(self) -> Step:
        if self.cancelled:
            raise StopIteration
        try:
            self.last_step = next(self._gen)
        except StopIteration as stop:
            self.result = stop.value
            raise
        return self.last_step

    def cancel(self) -> None:
        self.cancelled = True
        self._gen.close()

    def run_to_end(self, should_stop=None) -> AttackResult:
        """Run every step; `should_stop()` is asked between steps and raises Cancelled if it says so."""
        for _ in self:
            if should_stop is not None and should_stop():
                self.cancel()
                raise Cancelled("the attack was cancelled")
        assert self.result is not None
        return self.result
