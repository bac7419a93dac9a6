"""The loss and the predicted class on a 2-D slice around an image: one axis the adversarial
direction, the other a random direction orthogonal to it, both scaled to the same norm."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..criteria import Misclassification
from ..errors import Cancelled
from ..executor import Executor, JobGroup, SweepJob, array_of
from ..jobs import Progress, stop_flag
from ..model import Model
from .results import Landscape

ROWS_PER_JOB = 8  # grid rows evaluated by one executor job (41 rows: six jobs)


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm().clamp_min(1e-12)


def plane_points(model: Model, image: torch.Tensor, label: int, u: torch.Tensor, v: torch.Tensor,
                 coeffs: torch.Tensor, batch: int = 128,
                 should_stop: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(loss, predicted class) at x + a*u + b*v (clipped to [0, 1]) for each row (a, b) of `coeffs`."""
    device = model.device
    x = image.to(device)
    y = torch.tensor([int(label)], device=device)
    u, v, coeffs = u.to(device), v.to(device), coeffs.to(device, x.dtype)
    losses, preds = [], []
    for start in range(0, len(coeffs), batch):
        if should_stop is not None and should_stop():
            raise Cancelled("cancelled")
        c = coeffs[start : start + batch]
        points = (x.reshape(1, -1) + c[:, :1] * u + c[:, 1:] * v).clamp(0, 1).reshape(-1, *x.shape)
        with torch.no_grad():
            logits = model(points)
        losses.append(Misclassification(y.expand(len(points))).loss(logits).cpu())
        preds.append(logits.argmax(1).cpu())
    return torch.cat(losses).numpy(), torch.cat(preds).numpy()


def landscape_job(job: SweepJob, model: Model, x: torch.Tensor, y: torch.Tensor, config,
                  should_stop: Callable[[], bool] | None, report=None) -> dict:
    """The executor's 'landscape' job: a block of the grid's points around one image."""
    p = job.params
    loss, pred = plane_points(model, x[0], int(y[0]), torch.from_numpy(np.asarray(p["u"])),
                              torch.from_numpy(np.asarray(p["v"])), torch.from_numpy(np.asarray(p["coeffs"])),
                              int(p.get("batch", 128)), should_stop)
    return {"success": np.zeros(0, dtype=bool), "loss": loss, "pred": pred}


def loss_landscape(model: Model, image: torch.Tensor, label: int, direction: torch.Tensor | None = None,
                   radius: float = 2.0, grid: int = 41, seed: int = 0, progress: Progress | None = None,
                   batch: int = 128, executor: Executor | None = None) -> Landscape:
    """Evaluate x + a*u + b*v (clipped to [0,1]) for a, b in [-radius, radius] (L2 units), one executor
    job per block of `ROWS_PER_JOB` grid rows.

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
    coeffs = np.stack([aa.ravel(), bb.ravel()], axis=1).astype(array_of(x).dtype)
    blocks = [slice(r * grid, min(r + ROWS_PER_JOB, grid) * grid) for r in range(0, grid, ROWS_PER_JOB)]
    losses, preds = [], []
    with JobGroup(executor, stop_flag(progress)) as jobs:
        key = jobs.register_model(model)
        params = {"u": array_of(u), "v": array_of(v), "batch": batch}
        futures = [jobs.submit(SweepJob(key, {}, array_of(x[None]), np.array([int(label)]), seed=seed,
                                        method="landscape", function=landscape_job, keep_adversarial=False, tag=f"rows {b.start // grid}",
                                        params=params | {"coeffs": coeffs[b]})) for b in blocks]
        for i, result in enumerate(jobs.in_order(futures)):
            losses.append(result.values["loss"])
            preds.append(result.values["pred"])
            if progress is not None:
                progress.report(i + 1, len(blocks))
    shape = (grid, grid)
    return Landscape(alphas, betas, np.concatenate(losses).reshape(shape), np.concatenate(preds).reshape(shape),
                     radius, "l2", int(label), adv_point)


def adversarial_landscape(model: Model, image: torch.Tensor, label: int, config, grid: int = 41,
                          progress: Progress | None = None, executor: Executor | None = None) -> Landscape:
    """Attack the image with `config` (one job), then the landscape on the plane of its perturbation (twice
    its norm either side); without an adversarial, around the loss gradient instead."""
    with JobGroup(executor, stop_flag(progress)) as jobs:
        key = jobs.register_model(model)
        found = jobs.result(jobs.submit(SweepJob(key, config.to_dict(), array_of(image[None]),
                                                 np.array([int(label)]), seed=config.seed, tag="landscape attack")))
    adv = torch.from_numpy(found.adversarial)
    direction = (adv[0] - image) if bool(found.success[0]) else None
    radius = 2 * float(direction.norm()) if direction is not None else 2.0
    return loss_landscape(model, image, label, direction, radius=radius, grid=grid, progress=progress,
                          executor=executor)
