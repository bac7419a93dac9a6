"""The Stability lab's problems: K stripes in [0,1]^d, label floor(K x1) mod 2, keeping only points at
least delta = 0.1/K from every stripe edge, so every point has a certified clean margin delta."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .stability_config import MARGIN_FRACTION, StabilityConfig


@dataclass
class StripeData:
    """Points in [0,1]^d with labels floor(K x1) mod 2, each at least `margin` from every stripe edge."""

    x: torch.Tensor  # (N, d) float32
    y: torch.Tensor  # (N,) long
    stripes: int
    margin: float  # delta: distance of every point to the nearest stripe edge is >= margin

    @property
    def separation(self) -> float:
        """Any two points of different classes are at least this far apart, in every Lp norm."""
        return 2 * self.margin


def stripe_margin(stripes: int) -> float:
    return MARGIN_FRACTION / stripes


def edge_distance(x1: torch.Tensor, stripes: int) -> torch.Tensor:
    """Distance of x1 to the nearest interior stripe edge j/K, j = 1..K-1 (the only class boundaries)."""
    scaled = x1 * stripes
    nearest = scaled.round().clamp(1, stripes - 1)
    return (scaled - nearest).abs() / stripes


def stripe_labels(x: torch.Tensor, stripes: int) -> torch.Tensor:
    return (torch.floor(x[:, 0] * stripes).long().clamp(0, stripes - 1)) % 2


def make_stripes(stripes: int, dim: int, count: int, generator: torch.Generator) -> StripeData:
    """Uniform points in [0,1]^d, keeping only those at least delta = 0.1/K from every edge."""
    delta = stripe_margin(stripes)
    kept: list[torch.Tensor] = []
    have = 0
    while have < count:
        draw = torch.rand((max(64, int((count - have) * 1.3)), dim), generator=generator)
        keep = draw[edge_distance(draw[:, 0].double(), stripes) >= delta]
        kept.append(keep)
        have += len(keep)
    x = torch.cat(kept)[:count]
    return StripeData(x, stripe_labels(x, stripes), stripes, delta)


def data_seed(seed: int, stripes: int, dim: int, part: int) -> int:
    """Separate, reproducible streams for each setting's training (part 0) and test (part 1) points."""
    return (seed * 1_000_003 + stripes * 10_007 + dim * 101 + part) % (2**63 - 1)


def setting_data(config: StabilityConfig, stripes: int, dim: int,
                 train_points: int | None = None) -> tuple[StripeData, StripeData]:
    """The training points (n of them, default `config.train_points`) and the held-out test points of one
    (K, d): independent draws; the test points are the same for every n."""
    count = config.train_points if train_points is None else train_points
    train = make_stripes(stripes, dim, count, torch.Generator().manual_seed(data_seed(config.seed, stripes, dim, 0)))
    test = make_stripes(stripes, dim, config.test_points,
                        torch.Generator().manual_seed(data_seed(config.seed, stripes, dim, 1)))
    return train, test
