"""The step-wise attack protocol: an attack's `steps()` yields one `Step` per iteration.

A runner can then pause, single-step, cancel and stream telemetry between iterations without the
attack knowing. Steps carry device tensors; nothing is copied to the host here, so telemetry adds no
synchronisation per step (the reader copies what it shows, when it shows it).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..catalogue import AttackSpec
from ..config import AttackConfig
from ..criteria import Criterion
from ..errors import AttackFailed, Cancelled
from ..metrics import METRIC_NAMES, TOP_K
from ..norms import lp_norm


@dataclass
class Step:
    """The state of an attack after one iteration (index 0 is the starting point)."""

    index: int
    stage: str
    x_adv: torch.Tensor  # (N, C, H, W), on the attack's device; not a copy
    loss: torch.Tensor  # (N,)
    margin: torch.Tensor  # (N,) logit gap still to close; < 0 means the criterion is met
    true_prob: torch.Tensor  # (N,)
    target_prob: torch.Tensor  # (N,) NaN when untargeted
    topk_prob: torch.Tensor  # (N, k)
    topk_index: torch.Tensor  # (N, k)
    l0: torch.Tensor
    l1: torch.Tensor
    l2: torch.Tensor
    linf: torch.Tensor
    success: torch.Tensor  # (N,) bool

    def scalars(self) -> dict[str, torch.Tensor]:
        """The per-image scalar metrics, by name (device tensors)."""
        return {name: getattr(self, name) for name in METRIC_NAMES}


@dataclass
class AttackResult:
    x_adv: torch.Tensor
    success: torch.Tensor
    steps_run: int


def measure(index: int, stage: str, x: torch.Tensor, x_adv: torch.Tensor, logits: torch.Tensor,
            criterion: Criterion) -> Step:
    """All telemetry for one iterate, from logits the attack already computed (no extra forward)."""
    logits = logits.detach()
    probs = logits.softmax(dim=1)
    delta = (x_adv - x).detach()
    topk_prob, topk_index = probs.topk(min(TOP_K, probs.shape[1]), dim=1)
    targets = criterion.target_classes
    target_prob = (probs.gather(1, targets[:, None])[:, 0] if targets is not None
                   else torch.full_like(probs[:, 0], float("nan")))
    return Step(
        index=index,
        stage=stage,
        x_adv=x_adv.detach(),
        loss=criterion.loss(logits),
        margin=criterion.margin(logits),
        true_prob=probs.gather(1, criterion.labels[:, None])[:, 0],
        target_prob=target_prob,
        topk_prob=topk_prob,
        topk_index=topk_index,
        l0=lp_norm(delta, "l0"),
        l1=lp_norm(delta, "l1"),
        l2=lp_norm(delta, "l2"),
        linf=lp_norm(delta, "linf"),
        success=criterion.is_adversarial(logits),
    )


def loss_and_gradient(model, x_adv: torch.Tensor, loss_fn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, per-image loss, gradient of the summed loss w.r.t. the input), graph freed."""
    x_adv = x_adv.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model(x_adv)
        losses = loss_fn(logits)
        (grad,) = torch.autograd.grad(losses.sum(), x_adv)
    return logits.detach(), losses.detach(), grad


def per_image(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Reshape (N,) to broadcast against (N, C, H, W)."""
    return values.reshape(-1, *([1] * (like.dim() - 1)))


class FiniteCheck:
    """Tracks the first step whose loss or gradient was NaN/Inf, on the device; checked now and then.

    Checking every step would synchronise the GPU every step; checking every `every` steps and at
    the end still names the exact first bad step. A NaN gradient makes the next step's loss NaN, so
    the loss (N values) is watched every step and the gradients only on checking steps.
    """

    def __init__(self, device: torch.device, every: int = 8):
        self.first_bad = torch.tensor(-1, device=device)
        self.every = every

    def update(self, index: int, loss: torch.Tensor, *others: torch.Tensor) -> None:
        """Check the per-image loss every step; the (large) gradients only on checking steps."""
        checking = index % self.every == 0
        ok = torch.isfinite(loss).all()
        if checking and others:
            ok = ok & torch.stack([torch.isfinite(t).all() for t in others]).all()
        self.first_bad = torch.where((self.first_bad < 0) & ~ok, index, self.first_bad)
        if checking:
            self.raise_if_bad()

    def raise_if_bad(self) -> None:
        bad = int(self.first_bad)
        if bad >= 0:
            raise AttackFailed(f"the loss or its gradient became NaN/Inf at step {bad}; the run stopped there")


class Attack(ABC):
    """A step-wise attack on a batch: `steps()` is a generator of `Step`s returning an `AttackResult`."""

    spec: ClassVar[AttackSpec]

    def __init__(self, config: AttackConfig):
        self.config = config

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
        super().__init__(inner.config)
        self.inner = inner
        self.spec = inner.spec

    def steps(self, model, x, criterion, generator):
        from ..norms import lp_norm

        total = self.config.restarts
        best = x.clone()
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
            found = found | result.success
            if not self.spec.is_minimal and bool(found.all()):
                break
        return AttackResult(x_adv=best, success=found, steps_run=offset - 1)


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
