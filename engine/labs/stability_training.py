"""Training the Stability lab's MLPs: several same-shaped nets at once with Adam, a live curve, and a
plateau rule so that a net that fails has not merely stopped early."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from .stability_data import StripeData
from .stability_nets import ReluNet
from .stability_results import TrainingCurve


@dataclass(frozen=True)
class Plateau:
    """Keep training past the base steps in windows while the loss still falls by more than `gain`."""

    window: int
    gain: float
    max_steps: int


def _stacked_forward(weights: list[torch.Tensor], biases: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        x = torch.baddbmm(b, x, w)
        if i < len(weights) - 1:
            x = torch.relu(x)
    return x.squeeze(-1)


PLATEAU_FLOOR = 1e-3  # a mean logistic loss below this counts as fitted: no window needs to lower it further


def train_mlps(nets: list[ReluNet], generators: list[torch.Generator], train: StripeData, test: StripeData,
               steps: int, batch: int, learning_rate: float, curve: TrainingCurve, log_every: int = 25,
               on_log=None, plateau: Plateau | None = None) -> int:
    """Adam on the logistic loss for several same-shaped nets at once, each with its own initialisation
    and its own mini-batches (drawn from its own generator). Adam is elementwise and the nets share no
    parameter, so this is the same as training them one after the other, only with less overhead.

    After `steps`, with a `plateau`, training goes on window by window while some net that does not yet
    classify every training point right still lowers its mean loss over a window by more than
    `plateau.gain` (and is above PLATEAU_FLOOR), up to `plateau.max_steps`: a net that fails has not
    merely stopped early, and one that fits its data is not trained on for ever (on separable data the
    logistic loss never stops falling). Returns the steps taken."""
    weights = [torch.stack([n.layers[i].weight.detach().T for n in nets]).requires_grad_()
               for i in range(len(nets[0].layers))]
    biases = [torch.stack([n.layers[i].bias.detach()[None, :] for n in nets]).requires_grad_()
              for i in range(len(nets[0].layers))]
    optimiser = torch.optim.Adam([*weights, *biases], lr=learning_rate)
    count, members = len(train.x), len(nets)
    size = min(batch, count)
    target = train.y.float()
    x_train = train.x[None].expand(members, -1, -1)
    x_test = test.x[None].expand(members, -1, -1)
    running = torch.zeros(members)
    window, previous = torch.zeros(members), None
    seen = 0
    limit = max(steps, plateau.max_steps) if plateau is not None else steps
    step = 0
    while step < limit:
        step += 1
        idx = torch.stack([torch.randint(count, (size,), generator=g) for g in generators])
        logits = _stacked_forward(weights, biases, train.x[idx])
        losses = nn.functional.binary_cross_entropy_with_logits(logits, target[idx], reduction="none").mean(1)
        optimiser.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimiser.step()
        running += losses.detach()
        window += losses.detach()
        seen += 1
        stop = step == limit
        if plateau is not None and step % plateau.window == 0:
            current = window / plateau.window
            window = torch.zeros(members)
            if step >= steps and previous is not None:
                with torch.no_grad():
                    fitted = ((_stacked_forward(weights, biases, x_train) > 0).long() == train.y).all(1)
                falling = (current > PLATEAU_FLOOR) & (current < previous * (1 - plateau.gain)) & ~fitted
                stop = stop or not bool(falling.any())
            previous = current
        if step % log_every == 0 or stop:
            with torch.no_grad():
                train_acc = ((_stacked_forward(weights, biases, x_train) > 0).long() == train.y).float().mean(1)
                test_acc = ((_stacked_forward(weights, biases, x_test) > 0).long() == test.y).float().mean(1)
            curve.steps.append(step)
            for m in range(members):
                curve.loss[m].append(float(running[m]) / seen)
                curve.train_accuracy[m].append(float(train_acc[m]))
                curve.test_accuracy[m].append(float(test_acc[m]))
            running.zero_()
            seen = 0
            if on_log is not None:
                on_log(step)
        if stop:
            break
    with torch.no_grad():
        for m, net in enumerate(nets):
            for i, layer in enumerate(net.layers):
                layer.weight.copy_(weights[i][m].T)
                layer.bias.copy_(biases[i][m, 0])
    return step


@contextmanager
def torch_threads(count: int):
    """Tiny networks run fastest on one thread: on this 2-core machine an Adam step of the 16-16 MLP took
    3.5 ms on one thread and 82 ms on two under load (the threads wait for each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
