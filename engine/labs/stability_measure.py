"""How far each Stability-lab network is from changing its answer, measured three ways per point:

- an exact scan along +e1 and -e1 (`first_flip`): an upper bound of the minimal distance, exact on that line;
- the catalogue's PGD with a bisection on the budget (`pgd-bisect`), in L2 and Linf, run through a two-logit
  adapter with the engine's own criterion objects (upper bounds: each value is a checked adversarial point);
- interval bound propagation (IBP) on the Linf box, bisected on the radius: a certified lower bound (a
  Linf-certified radius also certifies the L2 ball of the same radius, which lies inside the box).

Then `measure_network` turns them into a `NetResult` for held-out and training points alike.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..attacks import AttackRun, BisectedPgd
from ..catalogue import check_attack
from ..config import AttackConfig
from ..criteria import Misclassification
from ..diagnostics.probes import stability_indicators
from ..jobs import Progress
from ..norms import lp_norm
from .stability_config import StabilityConfig
from .stability_data import StripeData
from .stability_nets import Net, ibp_certified_radius, predict
from .stability_results import NetResult, TrainingCurve, classify, median_of


class TwoLogits(nn.Module):
    """A one-logit net (class 1 iff logit > 0) as two class scores [-z/2, z/2], so the image attacks and
    criteria apply unchanged: argmax is class 1 exactly when z > 0, and the criterion's margin is +-z."""

    def __init__(self, net: Net):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.net.logit(x)
        return torch.stack([-z / 2, z / 2], dim=1)


def pgd_minimal_distance(net: Net, x: torch.Tensor, positive: torch.Tensor, norm: str, upper: torch.Tensor,
                         generator: torch.Generator, steps: int = 20, searches: int = 10,
                         progress: Progress | None = None) -> torch.Tensor:
    """Smallest perturbation the catalogue's `pgd-bisect` finds, per point, below `upper` (a norm already
    known to hold a class change, inf where none; the search then starts at the box's farthest point).
    Every finite value is the norm of a checked adversarial point inside [0,1]^d: an upper bound."""
    config = check_attack(AttackConfig(attack="pgd-bisect", norm=norm, steps=steps,
                                       params={"binary_steps": searches}))
    criterion = Misclassification(positive.long())
    run = AttackRun(BisectedPgd(config, upper=upper), TwoLogits(net), x, criterion, generator)
    result = run.run_to_end((lambda: progress.cancelled) if progress is not None else None)
    found = lp_norm(result.x_adv - x, norm)
    return torch.where(result.success, torch.minimum(found, upper), upper).detach()


@dataclass
class Distances:
    """Per measured point (correctly classified), distances to the nearest class change."""

    scan: np.ndarray  # exact along +-e1 (inf: no change on that line)
    l2: np.ndarray  # min(scan, PGD-L2): upper bound of the minimal L2 distance
    linf: np.ndarray  # min(scan, PGD-Linf): upper bound of the minimal Linf distance
    certified: np.ndarray  # IBP Linf-certified radius: lower bound of both minimal distances
    proven: np.ndarray  # by construction (zigzag, 1-NN); NaN for trained nets


def measure_distances(net: Net, x: torch.Tensor, generator: torch.Generator, pgd_steps: int = 20,
                      searches: int = 10, proven_norm: str = "l2", progress: Progress | None = None,
                      batch: int = 500) -> Distances:
    """The three measurements on the points x (float64), batch by batch."""
    parts: list[list[torch.Tensor]] = [[], [], [], [], []]
    for start in range(0, len(x), batch):
        if progress is not None:
            progress.check()
        xb = x[start:start + batch]
        with torch.no_grad():
            positive = net.logit(xb) > 0
            scan = torch.minimum(net.first_flip(xb, +1), net.first_flip(xb, -1))
        l2 = pgd_minimal_distance(net, xb, positive, "l2", scan, generator, pgd_steps, searches, progress)
        linf = pgd_minimal_distance(net, xb, positive, "linf", scan, generator, pgd_steps, searches, progress)
        ceiling = torch.where(torch.isfinite(linf), linf, torch.ones_like(linf))
        certified = ibp_certified_radius(net, xb, positive, ceiling)
        with torch.no_grad():
            proven = net.proven_radius(xb, proven_norm)
        if proven is None:
            proven = torch.full_like(scan, math.nan)
        for store, value in zip(parts, (scan, l2, linf, certified, proven), strict=True):
            store.append(value.detach())
    arrays = [torch.cat(p).numpy() if p else np.zeros(0) for p in parts]
    return Distances(*arrays)


def _share_below(values: np.ndarray, delta: float) -> float:
    return float(np.mean(values < delta)) if len(values) else math.nan


def measure_network(kind: str, net: Net, train: StripeData, test: StripeData, config: StabilityConfig,
                    seed: int | None, generator: torch.Generator, seconds: float, curve: TrainingCurve | None,
                    progress: Progress | None, steps: int = 0) -> NetResult:
    """Accuracy on held-out and training points, then distances on the first `attack_points` correctly
    classified ones of each; the run's class (accurate & stable, accurate & unstable, inaccurate)."""
    started = time.perf_counter()
    x_test, x_train = test.x.double(), train.x.double()
    correct = predict(net, x_test) == test.y
    correct_train = predict(net, x_train) == train.y
    test_acc, train_acc = float(correct.float().mean()), float(correct_train.float().mean())
    points = x_test[correct][: config.attack_points]
    held = measure_distances(net, points, generator, config.pgd_steps, config.searches, config.norm, progress)
    seen = measure_distances(net, x_train[correct_train][: config.attack_points], generator, config.pgd_steps,
                             config.searches, config.norm, progress)
    delta = test.margin
    headline, headline_train = getattr(held, config.norm), getattr(seen, config.norm)
    med = {name: median_of(getattr(held, name)) for name in ("scan", "l2", "linf", "certified", "proven")}
    rho = {name: med[name] / delta for name in med}
    share, share_train = _share_below(headline, delta), _share_below(headline_train, delta)
    smallest = float(np.min(headline)) if len(headline) else math.nan
    smallest_train = float(np.min(headline_train)) if len(headline_train) else math.nan
    certified_min = float(np.min(np.concatenate([held.certified, seen.certified]))) if (
        len(held.certified) + len(seen.certified)) else math.nan
    category = classify(test_acc, share, share_train, config)
    return NetResult(
        kind=kind, hidden=list(net.hidden), parameters=int(net.parameter_count), seed=seed,
        train_accuracy=train_acc, test_accuracy=test_acc, points=len(headline), train_points_measured=len(seen.l2),
        median_scan=med["scan"], median_l2=med["l2"], median_linf=med["linf"], median_certified=med["certified"],
        median_proven=med["proven"], share_below_margin=share, share_below_margin_train=share_train,
        min_distance=smallest, min_distance_train=smallest_train, min_certified=certified_min,
        rho_l2=rho["l2"], rho_linf=rho["linf"], rho_certified=rho["certified"], rho_proven=rho["proven"],
        rho=rho[config.norm], category=category, steps=steps,
        seconds=seconds + time.perf_counter() - started, curve=curve,
        indicators=stability_indicators(net, points, held.l2, held.linf))
