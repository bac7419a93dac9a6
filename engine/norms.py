"""Perturbation norms and the one projection helper every attack uses.

All functions work per image on batches (N, C, H, W) and return shape (N,) or the projected batch.
"""

from __future__ import annotations

import torch

from .errors import ConfigError

L0_TOLERANCE = 1e-6


def _flat(delta: torch.Tensor) -> torch.Tensor:
    return delta.reshape(delta.shape[0], -1)


def _l2_norm(flat: torch.Tensor) -> torch.Tensor:
    """Each row's L2 norm, exact to rounding even when the squares fall below the smallest normal float.

    A plain sum of squares loses its precision there and then reaches zero (float32 rows of norm ~1e-21
    read ~0.02% off, rows of 1e-30 read 0), so a tiny-budget projection looked outside its ball and was
    shrunk again. Such rows are measured again scaled by their largest entry. On the CPU the check costs
    one comparison; elsewhere both are computed and chosen without a device sync.
    """
    n = torch.linalg.vector_norm(flat, dim=1)
    info = torch.finfo(flat.dtype)
    floor = (info.tiny / info.eps) ** 0.5  # above it the sum of squares keeps full relative precision
    small = n < floor
    if flat.device.type == "cpu" and not bool(small.any()):
        return n
    scale = _nonzero(flat.abs().amax(dim=1, keepdim=True))
    scaled = scale.squeeze(1) * torch.linalg.vector_norm(flat / scale, dim=1)
    return torch.where(small, scaled, n)


def lp_norm(delta: torch.Tensor, norm: str) -> torch.Tensor:
    """The norm of each perturbation in the batch: 'linf', 'l2', 'l1' or 'l0' (count of changed values)."""
    flat = _flat(delta)
    if norm == "linf":
        return flat.abs().amax(dim=1)
    if norm == "l2":
        return _l2_norm(flat)
    if norm == "l1":
        return flat.abs().sum(dim=1)
    if norm == "l0":
        return (flat.abs() > L0_TOLERANCE).sum(dim=1).to(delta.dtype)
    raise ConfigError(f"unknown norm '{norm}'")


def display_norms(delta: torch.Tensor) -> torch.Tensor:
    """(4, N): the L0, L1, L2 and Linf norm of each perturbation (FRAME_METRICS' order), in fewer ops than
    four `lp_norm` calls (the same values: the same reductions on the same flattened batch)."""
    flat = _flat(delta)
    magnitude = flat.abs()
    return torch.stack([(magnitude > L0_TOLERANCE).sum(dim=1).to(delta.dtype), magnitude.sum(dim=1),
                        torch.linalg.vector_norm(flat, dim=1), magnitude.amax(dim=1)])


def _nonzero(norms: torch.Tensor) -> torch.Tensor:
    """Norms safe to divide by: zeros become one (their quotient is never used), subnormals stay."""
    return norms.masked_fill(norms == 0, 1)


def _scale_rows(values: torch.Tensor, numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """Each row of `values` times numerator / denominator, rounded well even when that is subnormal.

    A budget near the smallest floats gives factors such as 1e-44, which a float32 holds with a few bits
    only: the product then missed the ball by up to 30%. Such a factor is formed as (numerator * 2**k) /
    denominator and applied, then 2**-k (exact), so the product is rounded once; other rows are scaled as
    before, bit for bit. On the CPU the common case costs one comparison; elsewhere both are applied
    without a device sync. The denominator is never zero (callers put 1 where nothing is scaled).
    """
    factor = numerator / denominator
    subnormal = (factor < torch.finfo(values.dtype).tiny) & (factor > 0)
    if values.device.type == "cpu" and not bool(subnormal.any()):
        return values * _broadcast(factor, values)
    lift = torch.where(subnormal, 2.0 ** 100, 1.0).to(values.dtype)
    return values * _broadcast(numerator * lift / denominator, values) * _broadcast(1 / lift, values)


def _broadcast(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.reshape(-1, *([1] * (like.dim() - 1)))


def _project_l1(delta: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Euclidean projection onto the L1 ball (Duchi et al. 2008, sort-based).

    Two guards against rounding, both needed for tiny budgets. Duchi's first candidate always
    qualifies in exact arithmetic (mu_1 - (mu_1 - eps) = eps > 0), but in floating point `cumsum - eps`
    equals `cumsum` once eps is below half an ulp of the largest entry, so no candidate qualified, the
    threshold came out wrong and the "projection" kept most of the perturbation (L1 norms of ~90 for
    eps = 1e-7). The first candidate is therefore taken as given. And `(|x| - theta)_+` keeps whole
    ulps of the entries it shrinks, which for eps far below those ulps is far more than eps: the result
    is rescaled onto the ball where it ends outside.
    """
    flat = _flat(delta)
    abs_flat = flat.abs()
    inside = abs_flat.sum(dim=1) <= eps
    if bool(inside.all()):
        return delta
    mu, _ = abs_flat.sort(dim=1, descending=True)
    cumsum = mu.cumsum(dim=1)
    ks = torch.arange(1, flat.shape[1] + 1, device=delta.device, dtype=delta.dtype)
    cond = mu - (cumsum - eps[:, None]) / ks > 0
    cond[:, 0] = True
    rho = cond.shape[1] - 1 - cond.flip(1).to(torch.int64).argmax(dim=1, keepdim=True)
    theta = (cumsum.gather(1, rho) - eps[:, None]) / (rho + 1).to(delta.dtype)
    projected = flat.sign() * (abs_flat - theta).clamp_min(0)
    norm = projected.abs().sum(dim=1, keepdim=True)
    too_long = norm > eps[:, None]
    projected = _scale_rows(projected, torch.where(too_long, eps[:, None], 1).squeeze(1),
                            torch.where(too_long, norm, 1).squeeze(1))
    out = torch.where(inside[:, None], flat, projected)
    return out.reshape(delta.shape)


def project(delta: torch.Tensor, norm: str, eps: float | torch.Tensor) -> torch.Tensor:
    """Project each perturbation onto its epsilon ball (eps a float or one value per image)."""
    if norm == "linf" and isinstance(eps, (int, float)) and eps >= 0:
        return delta.clamp(-eps, eps)  # one op; the same values as the per-image min/max below
    eps_t = torch.as_tensor(eps, dtype=delta.dtype, device=delta.device).expand(delta.shape[0])
    if norm == "linf":
        e = _broadcast(eps_t, delta)
        return torch.maximum(torch.minimum(delta, e), -e)
    if norm == "l2":
        n = lp_norm(delta, "l2")
        # guard only 0/0: any floor (1e-12, even the smallest normal float) shrank a point with a tiny or
        # subnormal norm by the wrong factor
        too_long = n > eps_t
        return _scale_rows(delta, torch.where(too_long, eps_t, 1), torch.where(too_long, n, 1))
    if norm == "l1":
        return _project_l1(delta, eps_t)
    raise ConfigError(f"unknown norm '{norm}'")


def clip_perturbation(x: torch.Tensor, x_adv: torch.Tensor, norm: str, eps: float | torch.Tensor) -> torch.Tensor:
    """The adversarial batch with its perturbation inside the ball and the pixels inside [0, 1].

    Projecting onto the ball and then clamping to the box keeps both constraints, because the box
    clamp only moves values towards x (x itself is inside the box) and so never grows any norm.
    """
    delta = project(x_adv - x, norm, eps)
    return (x + delta).clamp(0.0, 1.0)


def normalize_gradient(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """The steepest-ascent direction of unit `norm` for a gradient: sign for Linf, g/|g| for L2."""
    if norm == "linf":
        return grad.sign()
    if norm == "l2":
        return grad / _broadcast(lp_norm(grad, "l2").clamp_min(1e-12), grad)
    raise ConfigError(f"no plain steepest-ascent step for norm '{norm}'")


def sparse_l1_direction(grad: torch.Tensor, x_adv: torch.Tensor, fraction: float) -> torch.Tensor:
    """Unit-L1 ascent direction on the largest `fraction` of gradient entries (sparse L1 descent).

    Entries at the box boundary whose gradient points outside are left out first, so the step is not
    spent on values the [0, 1] clip would undo (as in SLIDE and APGD-L1).
    """
    g = grad.clone()
    g[((x_adv <= 0) & (g < 0)) | ((x_adv >= 1) & (g > 0))] = 0
    flat = g.reshape(g.shape[0], -1).abs()
    k = max(1, int(round(fraction * flat.shape[1])))
    threshold = flat.topk(k, dim=1).values[:, -1:]
    mask = (flat >= threshold) & (flat > 0)
    direction = torch.where(mask, g.reshape(flat.shape).sign(), torch.zeros_like(flat))
    direction = direction / mask.sum(dim=1, keepdim=True).clamp_min(1)
    return direction.reshape(grad.shape)


def dual_norm(norm: str) -> str:
    """The dual norm: what a gradient is measured in when perturbations are measured in `norm`."""
    return {"linf": "l1", "l1": "linf", "l2": "l2"}[norm]


def random_in_ball(shape: torch.Size, norm: str, eps: float, generator: torch.Generator,
                   device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A random perturbation inside the ball: uniform per value for Linf; for L2 and L1 a random
    direction at a radius drawn uniformly from [0, eps]."""
    if norm == "linf":
        u = torch.rand(shape, generator=generator, device=device, dtype=dtype)
        return (2 * u - 1) * eps
    if norm in ("l2", "l1"):
        direction = torch.randn(shape, generator=generator, device=device, dtype=dtype)
        direction = direction / _broadcast(lp_norm(direction, norm).clamp_min(1e-12), direction)
        # radius uniform in [0, eps] (as torchattacks and Madry et al.'s code): starts spread from the
        # image to the boundary, where uniform-in-volume would put nearly all of them on the boundary
        radius = torch.rand(shape[0], generator=generator, device=device, dtype=dtype)
        return direction * _broadcast(radius * eps, direction)
    raise ConfigError(f"unknown norm '{norm}'")
