import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from advlens.engine.norms import clip_perturbation, lp_norm, project, random_in_ball

TOL = 1e-5
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# Budgets down to the smallest float64 subnormal: tiny ones are where the L1 projection used to keep
# the whole perturbation (rounding lost eps beside the largest entry).
EPSILONS = st.one_of(st.floats(0.0, 3.0), st.floats(0.0, 1e-5), st.floats(0.0, 1e-30),
                     st.sampled_from([0.0, 5e-324, 1e-45, 1e-40, 1.03e-23, 1e-7, 3e-7, 1e-6]))


def within_ball(projected: torch.Tensor, norm: str, eps: float) -> bool:
    """||projected|| <= eps as the tensor's dtype holds it, up to rounding relative to eps and one
    smallest subnormal per entry (what rescaling by a subnormal factor can add)."""
    eps_held = float(torch.tensor(eps, dtype=projected.dtype))
    info = torch.finfo(projected.dtype)
    slack = projected[0].numel() * info.tiny * info.eps
    return bool((lp_norm(projected, norm).double() <= eps_held * (1 + TOL) + slack).all())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@settings(max_examples=60, deadline=None)
@given(norm=st.sampled_from(["linf", "l2", "l1"]), eps=EPSILONS, seed=st.integers(0, 10_000),
       scale=st.one_of(st.floats(0.001, 10.0), st.just(0.0)))
@example(norm="l1", eps=1.03e-23, seed=0, scale=1.0)  # found in CI: the perturbation came back whole
@example(norm="l1", eps=1e-7, seed=0, scale=5.0)  # the case: L1 norms of ~90 for eps 1e-7
@example(norm="l1", eps=1e-6, seed=0, scale=5.0)  # rounding kept 2x eps
@example(norm="l1", eps=5e-324, seed=1, scale=1.0)  # smallest subnormal
@example(norm="l2", eps=1e-45, seed=2, scale=1.0)
@example(norm="linf", eps=1e-45, seed=2, scale=1.0)
@example(norm="l1", eps=0.0, seed=3, scale=1.0)  # eps = 0: everything to zero
@example(norm="l2", eps=0.0, seed=3, scale=1.0)
@example(norm="linf", eps=0.0, seed=3, scale=1.0)
@example(norm="l1", eps=0.5, seed=4, scale=0.0)  # all-zero delta
@example(norm="l2", eps=0.0, seed=4, scale=0.0)  # all-zero delta at eps = 0
@example(norm="l2", eps=3e-21, seed=0, scale=1.0)  # float32: the sum of squares lost precision, shrunk again
@example(norm="l2", eps=1e-30, seed=0, scale=1.0)  # float32: the norm read 0
@example(norm="l2", eps=1.4e-42, seed=5, scale=1.0)  # a subnormal factor: 30% outside the ball
@example(norm="l1", eps=1.4e-42, seed=5, scale=1.0)
def test_projection_lands_in_the_ball_and_is_idempotent(device, dtype, norm, eps, seed, scale):
    g = torch.Generator().manual_seed(seed)
    delta = (torch.randn(4, 3, 5, 5, generator=g, dtype=torch.float64) * scale).to(dtype=dtype, device=device)
    projected = project(delta, norm, eps)
    assert projected.dtype == dtype and torch.isfinite(projected).all()
    assert within_ball(projected, norm, eps)
    again = project(projected, norm, eps)
    # up to one step of the smallest subnormal: entries that small cannot be rounded any finer
    step = torch.finfo(dtype).tiny * torch.finfo(dtype).eps
    assert torch.allclose(again, projected, rtol=1e-5, atol=float(eps) * 1e-5 + step)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("eps", [0.0, 1e-30, 1e-7, 0.3, 2.0])
def test_l1_projection_with_entries_tied_at_the_threshold(dtype, eps):
    """Every entry the same size: the projection shrinks all of them alike, onto the sphere."""
    delta = torch.full((2, 1, 4, 4), 0.25, dtype=dtype)
    delta[1] *= -1
    projected = project(delta, "l1", eps)
    assert within_ball(projected, "l1", eps)
    flat = projected.abs().reshape(2, -1)
    assert torch.equal(flat, flat[:, :1].expand_as(flat))  # still tied
    # on the sphere, up to the ulps of the entries it shrank (a budget below those rounds to zero)
    ulps = delta[0].numel() * 0.25 * torch.finfo(dtype).eps
    assert torch.allclose(lp_norm(projected, "l1"), torch.tensor(eps, dtype=dtype).expand(2), rtol=1e-5, atol=ulps)
    assert (projected.sign() * delta.sign() >= 0).all()


@settings(max_examples=40, deadline=None)
@given(norm=st.sampled_from(["linf", "l2", "l1"]), seed=st.integers(0, 10_000))
def test_projection_leaves_points_inside_the_ball_alone(norm, seed):
    g = torch.Generator().manual_seed(seed)
    delta = torch.randn(3, 3, 4, 4, generator=g)
    eps = float(lp_norm(delta, norm).max()) * 1.01
    assert torch.allclose(project(delta, norm, eps), delta)


def test_l1_projection_matches_a_brute_force_minimiser():
    g = torch.Generator().manual_seed(3)
    delta = torch.randn(1, 1, 2, 3, generator=g)
    eps = 0.7
    p = project(delta, "l1", eps)
    # Any other point of the ball is at least as far from delta (sampled check).
    candidates = project(torch.randn(4000, 1, 2, 3, generator=g), "l1", eps)
    best = (candidates - delta).reshape(4000, -1).norm(dim=1).min()
    assert float((p - delta).norm()) <= float(best) + 1e-6
    assert abs(float(lp_norm(p, "l1")[0]) - eps) < 1e-5


@settings(max_examples=40, deadline=None)
@given(norm=st.sampled_from(["linf", "l2"]), eps=st.floats(0.0, 2.0), seed=st.integers(0, 10_000))
def test_clip_perturbation_keeps_box_and_ball(norm, eps, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, 6, 6, generator=g)
    x_adv = x + torch.randn(2, 3, 6, 6, generator=g)
    out = clip_perturbation(x, x_adv, norm, eps)
    assert out.min() >= 0 and out.max() <= 1
    assert (lp_norm(out - x, norm) <= eps * (1 + TOL) + TOL).all()


def test_random_start_is_inside_the_ball_and_follows_the_seed():
    for norm in ("linf", "l2"):
        a = random_in_ball(torch.Size([8, 3, 4, 4]), norm, 0.3, torch.Generator().manual_seed(1), torch.device("cpu"))
        b = random_in_ball(torch.Size([8, 3, 4, 4]), norm, 0.3, torch.Generator().manual_seed(1), torch.device("cpu"))
        assert torch.equal(a, b)
        assert (lp_norm(a, norm) <= 0.3 + 1e-6).all()
        assert (lp_norm(a, norm) > 0).all()


def test_l0_counts_changed_values():
    delta = torch.zeros(2, 3, 2, 2)
    delta[0, 0, 0, 0] = 0.5
    delta[1, :, 1, 1] = -0.1
    assert lp_norm(delta, "l0").tolist() == [1.0, 3.0]
