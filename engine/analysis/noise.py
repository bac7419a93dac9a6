"""Random noise against adversarial perturbations of the same size: how special is the attack's direction?"""

from __future__ import annotations

import torch

from ..batches import run_attack_on
from ..jobs import Progress, stop_flag
from ..model import Model
from ..norms import lp_norm
from .results import NoiseComparison


def noise_vs_adversarial(model: Model, images: torch.Tensor, labels: torch.Tensor, adversarial: torch.Tensor,
                         trials: int = 10, seed: int = 0, progress: Progress | None = None) -> NoiseComparison:
    """For each image, draw noise with the L2 (Gaussian) or Linf (uniform) norm of its adversarial
    perturbation and count it as fooled if any draw changes the prediction away from the label."""
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
            if progress is not None:
                progress.check()
            n = torch.randn(x.shape, generator=g, device=device)
            n = n / lp_norm(n, "l2").reshape(-1, 1, 1, 1).clamp_min(1e-12) * l2
            gauss |= model((x + n).clamp(0, 1)).argmax(1) != y
            u = (2 * torch.rand(x.shape, generator=g, device=device) - 1) * linf
            unif |= model((x + u).clamp(0, 1)).argmax(1) != y
            if progress is not None:
                progress.report(t + 1, trials)
    return NoiseComparison(len(x), float(adv_fooled.float().mean()), float(gauss.float().mean()),
                           float(unif.float().mean()), trials)


def noise_vs_attack(model: Model, images: torch.Tensor, labels: torch.Tensor, config, trials: int = 10,
                    progress: Progress | None = None) -> NoiseComparison:
    """Attack the correctly classified images with `config`, then compare with noise of the same norms."""
    with torch.no_grad():
        keep = model(images.to(model.device)).argmax(1).cpu() == labels
    adv, _ = run_attack_on(model, images[keep], labels[keep], config, should_stop=stop_flag(progress))
    return noise_vs_adversarial(model, images[keep], labels[keep], adv, trials=trials, seed=config.seed,
                                progress=progress)

