"""The loss and the predicted class on a 2-D slice around an image: one axis the adversarial
direction, the other a random direction orthogonal to it, both scaled to the same norm."""

from __future__ import annotations

import numpy as np
import torch

from ..batches import run_attack_on
from ..criteria import Misclassification
from ..jobs import Progress, stop_flag
from ..model import Model
from .results import Landscape


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm().clamp_min(1e-12)


def loss_landscape(model: Model, image: torch.Tensor, label: int, direction: torch.Tensor | None = None,
                   radius: float = 2.0, grid: int = 41, seed: int = 0, progress: Progress | None = None,
                   batch: int = 128) -> Landscape:
    """Evaluate x + a*u + b*v (clipped to [0,1]) for a, b in [-radius, radius] (L2 units).

    `direction` is the adversarial perturbation (its L2 direction is used); without one, the loss
    gradient's direction. The adversarial example itself is marked at (|delta|_2, 0).
    """
    device = model.device
    x = image.to(device)
    y = torch.tensor([label], device=device)
    if direction is None:
        xr = x[None].clone().requires_grad_(True)
        with torch.enable_grad():
            loss = Misclassification(y).loss(model(xr)).sum()
            (direction,) = torch.autograd.grad(loss, xr)
        direction = direction[0]
        adv_point = (0.0, 0.0)
    else:
        direction = direction.to(device)
        adv_point = (float(direction.norm()), 0.0)
    u = _unit(direction.reshape(-1))
    g = torch.Generator(device="cpu").manual_seed(seed)
    v = torch.randn(u.numel(), generator=g).to(device)
    v = _unit(v - (v @ u) * u)
    alphas = np.linspace(-radius, radius, grid)
    betas = np.linspace(-radius, radius, grid)
    aa, bb = np.meshgrid(alphas, betas)
    coeffs = torch.tensor(np.stack([aa.ravel(), bb.ravel()], axis=1), dtype=x.dtype, device=device)
    losses, preds = [], []
    chunks = range(0, len(coeffs), batch)
    for i, start in enumerate(chunks):
        if progress is not None:
            progress.check()
        c = coeffs[start : start + batch]
        points = (x.reshape(1, -1) + c[:, :1] * u + c[:, 1:] * v).clamp(0, 1).reshape(-1, *x.shape)
        with torch.no_grad():
            logits = model(points)
        losses.append(Misclassification(y.expand(len(points))).loss(logits).cpu())
        preds.append(logits.argmax(1).cpu())
        if progress is not None:
            progress.report(i + 1, len(chunks))
    shape = (grid, grid)
    return Landscape(alphas, betas, torch.cat(losses).numpy().reshape(shape), torch.cat(preds).numpy().reshape(shape),
                     radius, "l2", int(label), adv_point)


def adversarial_landscape(model: Model, image: torch.Tensor, label: int, config, grid: int = 41,
                          progress: Progress | None = None) -> Landscape:
    """Attack the image with `config`, then the landscape on the plane of its perturbation (twice its
    norm either side); without an adversarial, around the loss gradient instead."""
    adv, ok = run_attack_on(model, image[None], torch.tensor([label]), config, should_stop=stop_flag(progress))
    direction = (adv[0] - image) if bool(ok[0]) else None
    radius = 2 * float(direction.norm()) if direction is not None else 2.0
    return loss_landscape(model, image, label, direction, radius=radius, grid=grid, progress=progress)

