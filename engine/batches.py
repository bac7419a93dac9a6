"""One attack over a whole set of images, batch by batch: the loop every sweep, analysis and job runs.

It sits in the engine's core, below the executor and the analyses that use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from .attacks import AttackRun, make_attack
from .config import AttackConfig
from .criteria import make_criterion
from .diagnostics.trace import StepTrace
from .errors import Cancelled
from .model import Model


def batches(n: int, size: int) -> Iterator[slice]:
    """Slices of at most `size` covering range(n), in order."""
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def run_attack_on(model: Model, images: torch.Tensor, labels: torch.Tensor, config: AttackConfig,
                  batch: int = 64, should_stop: Callable[[], bool] | None = None,
                  trace: StepTrace | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(adversarial images, success) for a whole set, batch by batch, on the model's device.

    One generator, seeded from the config, runs through every batch, so a set gives the same numbers
    whoever calls this. It stops with `Cancelled` at the next step once `should_stop()` says so (an
    executor's job passes its own flag, an analysis its progress's). A `trace` keeps every step's
    scalars for a diagnosis afterwards (attack diagnostics).
    """
    advs, successes = [], []
    device = model.device
    generator = torch.Generator(device=device).manual_seed(config.seed)
    for part in batches(len(images), batch):
        if should_stop is not None and should_stop():
            raise Cancelled("cancelled")
        x = images[part].to(device)
        y = labels[part].to(device)
        criterion = make_criterion(y, config.target)
        run = AttackRun(make_attack(config), model, x, criterion, generator)
        if trace is not None:
            trace.begin_batch(criterion)
        for step in run:
            if trace is not None:
                trace.add(step)
            if should_stop is not None and should_stop():
                run.cancel()
                raise Cancelled("cancelled")
        if trace is not None:
            trace.end_batch()
        advs.append(run.result.x_adv.detach().cpu())
        successes.append(run.result.success.detach().cpu())
    return torch.cat(advs), torch.cat(successes)
