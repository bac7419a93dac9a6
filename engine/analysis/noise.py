"""Random noise against adversarial perturbations of the same size: how special is the attack's direction?"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..batches import batches, run_attack_on
from ..errors import Cancelled
from ..executor import Executor, JobGroup, SweepJob, array_of
from ..jobs import Progress, stop_flag
from ..model import Model
from ..norms import lp_norm
from .results import NoiseComparison


def noise_flags(model: Model, images: torch.Tensor, labels: torch.Tensor, adversarial: torch.Tensor, trials: int,
                seed: int, should_stop: Callable[[], bool] | None = None,
                on_trial: Callable[[int], None] | None = None) -> dict[str, torch.Tensor]:
    """Per image: fooled by its adversarial, by any of `trials` Gaussian draws of its L2 norm, by any
    uniform draw of its Linf norm (one generator seeded with `seed` for the whole set)."""
    device = model.device
    x, y, adv = images.to(device), labels.to(device), adversarial.to(device)
    delta = adv - x
    l2 = lp_norm(delta, "l2").reshape(-1, 1, 1, 1)
    linf = lp_norm(delta, "linf").reshape(-1, 1, 1, 1)
    g = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        adv_fooled = model(adv).argmax(1) != y
        gauss = torch.zeros_like(adv_fooled)
        unif = torch.zeros_like(adv_fooled)
        for t in range(trials):
            if should_stop is not None and should_stop():
                raise Cancelled("cancelled")
            n = torch.randn(x.shape, generator=g, device=device)
            n = n / lp_norm(n, "l2").reshape(-1, 1, 1, 1).clamp_min(1e-12) * l2
            gauss |= model((x + n).clamp(0, 1)).argmax(1) != y
            u = (2 * torch.rand(x.shape, generator=g, device=device) - 1) * linf
            unif |= model((x + u).clamp(0, 1)).argmax(1) != y
            if on_trial is not None:
                on_trial(t + 1)
    return {"adversarial": adv_fooled.cpu(), "gaussian": gauss.cpu(), "uniform": unif.cpu()}


def noise_vs_adversarial(model: Model, images: torch.Tensor, labels: torch.Tensor, adversarial: torch.Tensor,
                         trials: int = 10, seed: int = 0, progress: Progress | None = None) -> NoiseComparison:
    """For each image, draw noise with the L2 (Gaussian) or Linf (uniform) norm of its adversarial
    perturbation and count it as fooled if any draw changes the prediction away from the label."""
    on_trial = (lambda t: progress.report(t, trials)) if progress is not None else None
    flags = noise_flags(model, images, labels, adversarial, trials, seed, stop_flag(progress), on_trial)
    return NoiseComparison(len(images), float(flags["adversarial"].float().mean()),
                           float(flags["gaussian"].float().mean()), float(flags["uniform"].float().mean()), trials)


def noise_job(job: SweepJob, model: Model, x: torch.Tensor, y: torch.Tensor, config,
              should_stop: Callable[[], bool] | None, report=None) -> dict:
    """The executor's 'noise' job: attack a block of images, then the noise draws of the same norms."""
    adv, ok = run_attack_on(model, x, y, config, batch=job.batch, should_stop=should_stop)
    flags = noise_flags(model, x, y, adv, int(job.params.get("trials", 10)), config.seed, should_stop)
    return {"success": ok.numpy(), **{name: flag.numpy() for name, flag in flags.items()}}


def noise_vs_attack(model: Model, images: torch.Tensor, labels: torch.Tensor, config, trials: int = 10,
                    progress: Progress | None = None, batch: int = 64,
                    executor: Executor | None = None) -> NoiseComparison:
    """Attack the correctly classified images with `config`, then compare with noise of the same norms:
    one executor job per block of `batch` images, each seeded with the config's seed."""
    with torch.no_grad():
        keep = torch.cat([model(images[p].to(model.device)).argmax(1).cpu() == labels[p]
                          for p in batches(len(images), batch)]) if len(images) else torch.zeros(0, dtype=torch.bool)
    x, y = images[keep], labels[keep]
    parts = list(batches(len(x), batch))
    flags: dict[str, list[np.ndarray]] = {"adversarial": [], "gaussian": [], "uniform": []}
    with JobGroup(executor, stop_flag(progress)) as jobs:
        key = jobs.register_model(model)
        futures = [jobs.submit(SweepJob(key, config.to_dict(), array_of(x[p]), array_of(y[p]), seed=config.seed,
                                        batch=batch, method="noise", function=noise_job, keep_adversarial=False,
                                        params={"trials": trials}, tag=f"noise {p.start}:{p.stop}"))
                   for p in parts]
        for i, result in enumerate(jobs.in_order(futures)):
            for name in flags:
                flags[name].append(result.values[name])
            if progress is not None:
                progress.report(i + 1, len(parts))

    def share(name: str) -> float:
        return float(np.concatenate(flags[name]).mean()) if flags[name] else float("nan")

    return NoiseComparison(len(x), share("adversarial"), share("gaussian"), share("uniform"), trials)
