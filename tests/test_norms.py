import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from advlens.engine.norms import clip_perturbation, lp_norm, project, random_in_ball

TOL = 1e-5


@settings(max_examples=60, deadline=None)
@given(norm=st.sampled_from(["linf", "l2", "l1"]), eps=st.floats(0.0, 3.0), seed=st.integers(0, 10_000),
       scale=st.floats(0.001, 10.0))
def test_projection_lands_in_the_ball_and_is_idempotent(norm, eps, seed, scale):
    g = torch.Generator().manual_seed(seed)
    delta = torch.randn(4, 3, 5, 5, generator=g) * scale
    projected = project(delta, norm, eps)
    assert (lp_norm(projected, norm) <= eps * (1 + TOL) + TOL).all()
    assert torch.allclose(project(projected, norm, eps), projected, atol=1e-5)


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
