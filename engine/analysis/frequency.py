"""Where a perturbation's energy sits in frequency: Laplacian-pyramid bands and radial FFT bins."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..batches import batches
from ..executor import Executor, JobGroup, SweepJob, array_of
from ..jobs import stop_flag


def laplacian_band_energy(image: torch.Tensor, levels: int = 5) -> list[float]:
    """Share of the signal's energy in each Laplacian-pyramid band, finest first (sums to 1).

    Each band is the difference between a level and its area-downsampled, bilinearly upsampled
    copy; the last entry is the coarse residual.
    """
    x = image[None] if image.dim() == 3 else image
    energies = []
    current = x
    for _ in range(levels - 1):
        if min(current.shape[-2:]) < 2:
            break
        down = F.avg_pool2d(current, 2, ceil_mode=True)
        up = F.interpolate(down, size=current.shape[-2:], mode="bilinear", align_corners=False)
        energies.append(float((current - up).pow(2).sum()))
        current = down
    energies.append(float(current.pow(2).sum() * (4 ** len(energies))))
    total = sum(energies)
    return [e / total if total > 0 else 0.0 for e in energies]


def radial_fft_energy(image: torch.Tensor, bins: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres as a fraction of the Nyquist frequency, share of spectral energy per bin)."""
    x = (image[None] if image.dim() == 3 else image).detach().cpu().double()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().pow(2).sum(dim=(0, 1)).numpy()
    h, w = power.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    radius = np.sqrt(fx**2 + fy**2) / 0.5
    edges = np.linspace(0, np.sqrt(2), bins + 1)
    index = np.clip(np.digitize(radius, edges) - 1, 0, bins - 1)
    energy = np.bincount(index.ravel(), weights=power.ravel(), minlength=bins)
    total = energy.sum()
    return (edges[:-1] + edges[1:]) / 2, energy / total if total > 0 else energy


def frequency_comparison(model, images: torch.Tensor, labels: torch.Tensor, config, progress=None, batch: int = 64,
                         executor: Executor | None = None) -> dict:
    """Mean Laplacian band energy of the attack's perturbations beside that of the images (mean removed),
    finest band first, the coarse residual last; the attack runs as one executor job per block of images."""
    parts = list(batches(len(images), batch))
    advs = []
    with JobGroup(executor, stop_flag(progress)) as jobs:
        key = jobs.register_model(model)
        futures = [jobs.submit(SweepJob(key, config.to_dict(), array_of(images[p]), array_of(labels[p]),
                                        seed=config.seed, batch=batch, tag=f"images {p.start}:{p.stop}"))
                   for p in parts]
        for i, result in enumerate(jobs.in_order(futures)):
            advs.append(torch.from_numpy(result.adversarial))
            if progress is not None:
                progress.report(i + 1, len(parts))
    adv = torch.cat(advs) if advs else images[:0]
    return {
        "perturbation": torch.tensor([laplacian_band_energy(d) for d in adv - images]).mean(0).tolist(),
        "image": torch.tensor([laplacian_band_energy(x - x.mean()) for x in images]).mean(0).tolist(),
    }
