"""The networks the Stability lab compares, and the three measurements it takes on each of them.

Every network maps vectors x in [0,1]^d (a batch of shape (N, d)) to one logit; class 1 iff logit > 0.
- `ReluNet`: a plain ReLU MLP. The trained networks (fixed and widened) are ReluNets, and so is the
  hand-built zigzag (`zigzag_net`), so one exact line scan and one interval bound serve them all.
- `NearestNeighbourNet`: 1-nearest-neighbour written as a ReLU max-network: class 1 iff
  max_p (2 x.p - |p|^2) over class-1 training points beats the same max over class 0 (the |x|^2 term
  cancels, so every unit is affine in x; a max of n values is a tree of ReLUs, max(a, b) = b + relu(a - b);
  here it is evaluated with `amax`, which computes the same function).

Measurements (`measure_net`):
- an exact scan along +e1 and -e1: the network is piecewise linear along a line, so walking from one
  linear piece to the next gives the first class change exactly (an upper bound of the minimal distance);
- PGD with a bisection on the budget, in L2 and Linf (upper bounds: each is a verified adversarial point);
- interval bound propagation (IBP) on the Linf box, bisected on the radius: a certified lower bound
  (a Linf-certified radius also certifies the L2 ball of the same radius, which lies inside the box).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..jobs import Progress
from ..norms import clip_perturbation, lp_norm, normalize_gradient

SCAN_MAX_PIECES = 20_000
SCAN_STEP_PAST = 1e-10  # move this far past a kink so the next piece's pattern is read unambiguously


def _scan_piece(idx: torch.Tensor, g: torch.Tensor, dg: torch.Tensor, next_kink: torch.Tensor,
                start_positive: torch.Tensor, t: torch.Tensor, t_max: torch.Tensor, result: torch.Tensor,
                todo: torch.Tensor) -> None:
    """One linear piece of an exact line scan, for the points `idx` still scanning (updated in place).

    On the piece the decision value is g + dg*s: the class flips where it crosses 0 (class 1, g > 0, is
    lost where g reaches 0; class 0 where g rises above 0), if that comes before the next kink and
    before the end of the line; otherwise the scan moves just past the kink.
    """
    pos = start_positive[idx]
    lost_now = torch.where(pos, g <= 0, g > 0)
    crosses = torch.where(pos, dg < 0, dg > 0)
    s_flip = torch.where(crosses, -g / torch.where(crosses, dg, torch.ones_like(dg)),
                         torch.full_like(g, math.inf)).clamp_min(0)
    s_flip = torch.where(lost_now, torch.zeros_like(s_flip), s_flip)
    room = t_max[idx] - t[idx]
    flipped = (s_flip <= next_kink) & (s_flip <= room)
    result[idx[flipped]] = t[idx[flipped]] + s_flip[flipped]
    done = flipped | (next_kink >= room)
    todo[idx[done]] = False
    keep = ~done
    t[idx[keep]] = t[idx[keep]] + next_kink[keep] + SCAN_STEP_PAST


def _init_linear(layer: nn.Linear, generator: torch.Generator, through_cube: bool) -> None:
    """PyTorch's default initialisation (uniform in +-1/sqrt(fan_in)), drawn from the job's own generator.

    With `through_cube`, each unit's hyperplane passes through a random point of [0,1]^d instead
    (bias = -w.c): the default puts most first-layer kinks outside the data, and a net then needs many
    more Adam steps to fit narrow stripes. It uses nothing about the labels.
    """
    bound = 1.0 / math.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
        if through_cube:
            points = torch.rand(layer.weight.shape, generator=generator)
            layer.bias.copy_(-(layer.weight * points).sum(1))


class ReluNet(nn.Module):
    """d -> hidden[0] -> ... -> hidden[-1] -> 1 with ReLU between linear layers."""

    def __init__(self, dim: int, hidden: list[int], generator: torch.Generator | None = None):
        super().__init__()
        sizes = [dim, *hidden, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        if generator is not None:
            for i, layer in enumerate(self.layers):
                _init_linear(layer, generator, through_cube=i == 0)
        self.hidden = list(hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x).squeeze(-1)

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def interval(self, lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Interval bound propagation: bounds of the logit over the box [lo, hi] (sound, usually loose)."""
        for i, layer in enumerate(self.layers):
            centre, radius = (hi + lo) / 2, (hi - lo) / 2
            centre = layer(centre)
            radius = radius @ layer.weight.abs().T
            lo, hi = centre - radius, centre + radius
            if i < len(self.layers) - 1:
                lo, hi = lo.clamp_min(0), hi.clamp_min(0)
        return lo.squeeze(-1), hi.squeeze(-1)

    @torch.no_grad()
    def first_flip(self, x: torch.Tensor, direction: int) -> torch.Tensor:
        """Exact distance along direction*e1 to the first change of class, inf if none inside [0,1].

        The net is affine between kinks; at each step compute every unit's value and slope along the
        ray (the activation pattern just ahead of t), the nearest kink ahead, and whether the logit
        changes sign before it. Values are recomputed from x at every step, so errors do not build up.
        """
        n = x.shape[0]
        t = torch.zeros(n, dtype=x.dtype)
        t_max = (1 - x[:, 0]) if direction > 0 else x[:, 0].clone()
        result = torch.full((n,), math.inf, dtype=x.dtype)
        start_positive = self.logit(x) > 0
        todo = torch.ones(n, dtype=torch.bool)
        u = torch.zeros(x.shape[1], dtype=x.dtype)
        u[0] = float(direction)
        for _ in range(SCAN_MAX_PIECES):
            idx = todo.nonzero().squeeze(1)
            if len(idx) == 0:
                break
            h = x[idx] + t[idx, None] * u
            dh = u.expand_as(h)
            next_kink = torch.full((len(idx),), math.inf, dtype=x.dtype)
            for layer in self.layers[:-1]:
                z = layer(h)
                dz = dh @ layer.weight.T
                on = (z > 0) | ((z == 0) & (dz > 0))
                ahead = ((z > 0) & (dz < 0)) | ((z < 0) & (dz > 0))
                s = torch.where(ahead, -z / torch.where(ahead, dz, torch.ones_like(dz)), torch.full_like(z, math.inf))
                next_kink = torch.minimum(next_kink, s.amin(dim=1))
                h, dh = z * on, dz * on
            g = self.layers[-1](h).squeeze(-1)
            dg = (dh @ self.layers[-1].weight.T).squeeze(-1)
            _scan_piece(idx, g, dg, next_kink, start_positive, t, t_max, result, todo)
        return result

    def proven_radius(self, x: torch.Tensor, norm: str) -> torch.Tensor | None:
        return None


class ZigzagNet(ReluNet):
    """A ReLU zigzag in x1 that changes class only inside the delta band around each stripe edge.

    Two hidden layers of K-1 units each: clamp_j = 2 delta - relu(2 delta - relu(x1 - (e_j - delta)))
    rises from 0 to 2 delta across the band around edge e_j = j/K, and the logit
    -1 + sum_j 2 (-1)^(j+1) clamp_j / (2 delta) is -1 on even stripes, +1 on odd ones and 0 exactly at
    each edge. It ignores x2..xd, so the minimal adversarial distance of a point in any Lp norm is
    exactly |x1 - nearest edge|, which is at least delta for every point of the data.
    """

    def __init__(self, dim: int, stripes: int, delta: float):
        edges = stripes - 1
        super().__init__(dim, [edges, edges])
        self.double()  # float64 from the start: float32 weights would move the edges by ~1e-8
        self.stripes, self.delta = stripes, delta
        e = torch.arange(1, stripes, dtype=torch.float64) / stripes
        signs = torch.tensor([2.0 * (-1) ** (j + 1) for j in range(1, stripes)], dtype=torch.float64)
        with torch.no_grad():
            first, second, out = self.layers
            first.weight.zero_()
            first.weight[:, 0] = 1.0
            first.bias.copy_(-(e - delta))
            second.weight.copy_(-torch.eye(edges))
            second.bias.fill_(2 * delta)
            out.weight.copy_((-signs / (2 * delta))[None, :])
            out.bias.fill_(float(-1 + signs.sum()))
        self.edges = e

    def proven_radius(self, x: torch.Tensor, norm: str) -> torch.Tensor:
        return (x[:, :1] - self.edges.to(x.dtype)[None, :]).abs().amin(dim=1)


class _NearestGap(torch.autograd.Function):
    """max_p a_p(x) - max_q a_q(x) with its exact (sub)gradient 2 (p* - q*): saves autograd's backward
    matrix product through the n affine units, which is most of the 1-NN's cost in high d."""

    @staticmethod
    def forward(ctx, x, p1, p0):  # noqa: D102 - torch API
        v1 = 2 * x @ p1.T - (p1 * p1).sum(1)[None, :]
        v0 = 2 * x @ p0.T - (p0 * p0).sum(1)[None, :]
        m1, i1 = v1.max(1)
        m0, i0 = v0.max(1)
        ctx.save_for_backward(p1[i1] - p0[i0])
        return m1 - m0

    @staticmethod
    def backward(ctx, grad_out):  # noqa: D102 - torch API
        (direction,) = ctx.saved_tensors
        return 2 * grad_out[:, None] * direction, None, None


class NearestNeighbourNet(nn.Module):
    """1-NN on the training points as a ReLU max-network (see the module docstring)."""

    def __init__(self, points: torch.Tensor, labels: torch.Tensor):
        super().__init__()
        self.register_buffer("p1", points[labels == 1].clone())
        self.register_buffer("p0", points[labels == 0].clone())
        self.hidden = [len(points)]

    @property
    def parameter_count(self) -> int:
        return (self.p1.numel() + self.p0.numel()) + len(self.p1) + len(self.p0)

    def _affine(self, points: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return 2 * x @ points.T - (points * points).sum(1)[None, :]

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        return _NearestGap.apply(x, self.p1, self.p0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(x)

    def interval(self, lo: torch.Tensor, hi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Intervals of the affine units, then of the two maxima: sound, and no looser than IBP on the ReLU tree."""
        centre, radius = (hi + lo) / 2, (hi - lo) / 2

        def bounds(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            c = self._affine(points, centre)
            r = 2 * radius @ points.abs().T
            return (c - r).amax(1), (c + r).amax(1)

        lo1, hi1 = bounds(self.p1)
        lo0, hi0 = bounds(self.p0)
        return lo1 - hi0, hi1 - lo0

    @torch.no_grad()
    def first_flip(self, x: torch.Tensor, direction: int) -> torch.Tensor:
        """Exact first class change along direction*e1: each max is convex piecewise linear in t, so walk
        from one maximising unit to the next (a kinetic sweep) and check the gap between the two maxima."""
        n = x.shape[0]
        t_max = (1 - x[:, 0]) if direction > 0 else x[:, 0].clone()
        a1, a0 = self._affine(self.p1, x), self._affine(self.p0, x)  # values at t = 0
        b1 = (2.0 * direction * self.p1[:, 0])[None, :].expand(n, -1)  # slopes along the ray
        b0 = (2.0 * direction * self.p0[:, 0])[None, :].expand(n, -1)
        start_positive = a1.amax(1) - a0.amax(1) > 0
        t = torch.zeros(n, dtype=x.dtype)
        result = torch.full((n,), math.inf, dtype=x.dtype)
        todo = torch.ones(n, dtype=torch.bool)

        def top(a: torch.Tensor, b: torch.Tensor, tt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            values = a + b * tt[:, None]
            best = values.amax(1)
            tied = values >= best[:, None] - 1e-12 * (1 + best.abs()[:, None])
            slope = torch.where(tied, b, torch.full_like(b, -math.inf)).amax(1)  # the one that stays on top
            gaps = (best[:, None] - values) / (b - slope[:, None])
            gaps = torch.where(b > slope[:, None], gaps, torch.full_like(gaps, math.inf)).clamp_min(0)
            return best, slope, gaps.amin(1)

        for _ in range(SCAN_MAX_PIECES):
            idx = todo.nonzero().squeeze(1)
            if len(idx) == 0:
                break
            m1, s1, k1 = top(a1[idx], b1[idx], t[idx])
            m0, s0, k0 = top(a0[idx], b0[idx], t[idx])
            _scan_piece(idx, m1 - m0, s1 - s0, torch.minimum(k1, k0), start_positive, t, t_max, result, todo)
        return result

    def proven_radius(self, x: torch.Tensor, norm: str) -> torch.Tensor:
        """(b - a)/2 in L2, a and b the distances to the nearest same-class and other-class training point
        (class = the prediction); a Linf ball of radius r lies in the L2 ball of radius r*sqrt(d)."""
        d1 = torch.cdist(x, self.p1).amin(1)
        d0 = torch.cdist(x, self.p0).amin(1)
        pred1 = self.logit(x) > 0
        a, b = torch.where(pred1, d1, d0), torch.where(pred1, d0, d1)
        radius = ((b - a) / 2).clamp_min(0)
        return radius if norm == "l2" else radius / math.sqrt(x.shape[1])


Net = ReluNet | NearestNeighbourNet


def predict(net: Net, x: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """Class 0/1 per row (logit > 0 is class 1)."""
    with torch.no_grad():
        return torch.cat([(net.logit(x[i:i + batch]) > 0).long() for i in range(0, len(x), batch)])


def ibp_certified_radius(net: Net, x: torch.Tensor, positive: torch.Tensor, upper: torch.Tensor,
                         iterations: int = 14) -> torch.Tensor:
    """Largest Linf radius (bisected, below `upper`) on which IBP proves the class cannot change."""
    lo = torch.zeros(len(x), dtype=x.dtype)
    hi = upper.clone()
    with torch.no_grad():
        for _ in range(iterations):
            mid = (lo + hi) / 2
            low, high = net.interval((x - mid[:, None]).clamp(0, 1), (x + mid[:, None]).clamp(0, 1))
            safe = torch.where(positive, low > 0, high <= 0)
            lo = torch.where(safe, mid, lo)
            hi = torch.where(safe, hi, mid)
    return lo


def _fooled(net: Net, x: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    return (net.logit(x) > 0) != positive


def pgd_minimal_distance(net: Net, x: torch.Tensor, positive: torch.Tensor, norm: str, upper: torch.Tensor,
                         generator: torch.Generator, steps: int = 20, searches: int = 10,
                         progress: Progress | None = None) -> torch.Tensor:
    """Smallest perturbation PGD finds, with a bisection on the budget: per point, a PGD run at the middle
    of [lo, hi]; success lowers hi to the norm found, failure raises lo. `upper` is a known upper bound
    (inf where none: then the search starts at the box's diameter). Every finite value returned is the
    norm of a checked adversarial point inside [0,1]^d, so it is an upper bound of the true minimum."""
    diameter = 1.0 if norm == "linf" else math.sqrt(x.shape[1])
    best = upper.clone()
    hi = torch.where(torch.isfinite(upper), upper, torch.full_like(upper, diameter))
    lo = torch.zeros_like(hi)
    sign = torch.where(positive, 1.0, -1.0).to(x.dtype)
    for _ in range(searches):
        if progress is not None:
            progress.check()
        eps = (lo + hi) / 2
        x_adv = x.clone()
        if norm == "linf":  # a random start helps leave a flat ReLU region
            noise = (2 * torch.rand(x.shape, generator=generator, dtype=x.dtype) - 1) * eps[:, None] * 0.5
            x_adv = (x + noise).clamp(0, 1)
        step = 2.5 * eps / steps
        found = torch.full_like(eps, math.inf)
        for _ in range(steps):
            x_adv.requires_grad_(True)
            margin = (sign * net.logit(x_adv)).sum()
            (grad,) = torch.autograd.grad(margin, x_adv)
            with torch.no_grad():
                x_adv = x_adv - step[:, None] * normalize_gradient(grad, norm)
                x_adv = clip_perturbation(x, x_adv, norm, eps)
                fooled = _fooled(net, x_adv, positive)
                size = lp_norm(x_adv - x, norm)
                found = torch.where(fooled, torch.minimum(found, size), found)
        success = torch.isfinite(found)
        best = torch.minimum(best, found)
        hi = torch.where(success, torch.minimum(hi, found), hi)
        lo = torch.where(success, lo, eps)
    return best


@dataclass
class Distances:
    """Per attacked point (correctly classified test points), distances to the nearest class change."""

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
        l2, linf = torch.minimum(l2, scan), torch.minimum(linf, scan)
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
