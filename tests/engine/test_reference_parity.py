"""AdvLens's attacks are at least as strong as torchattacks' and Foolbox's on the demo model.

Same images (64 held-out demo scenes at 32 px, the correctly classified ones), same budgets:
fixed-budget attacks must fool at least the reference's rate minus 2 points; minimal-norm attacks
must find a median norm at most 1.05 times the reference's. All adversarials respect [0,1], and the
fixed-budget ones their epsilon ball.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advlens.engine import AttackConfig, RunConfig, run_attack
from advlens.engine.norms import lp_norm
from tests.conftest import demo_images

torchattacks = pytest.importorskip("torchattacks")

TOL = 1e-5


@pytest.fixture(scope="module")
def parity_set(demo_model):
    x, y = demo_images(64, 32, offset=500)
    with torch.no_grad():
        correct = demo_model(x).argmax(1) == y
    assert int(correct.sum()) >= 56
    return x[correct], y[correct]


def _ours(model, x, y, **attack):
    record = run_attack(RunConfig(resolution=None, attack=AttackConfig(**attack)), model=model, image=x, label=y)
    adv = torch.from_numpy(record.adversarial)
    assert adv.min() >= 0 and adv.max() <= 1
    return adv, torch.tensor(record.success)


def _fooled(model, adv, y):
    with torch.no_grad():
        return model(adv).argmax(1) != y


def _check_fixed(name, model, x, y, ours, reference, norm, eps):
    adv, success = ours
    assert torch.equal(success, _fooled(model, adv, y)), "reported success must match the model's predictions"
    assert (lp_norm(adv - x, norm) <= eps * (1 + TOL) + TOL).all()
    ref_rate = _fooled(model, reference, y).float().mean().item()
    rate = success.float().mean().item()
    print(f"{name}: advlens {rate:.1%} vs reference {ref_rate:.1%}")
    assert rate >= ref_rate - 0.02


def _median_norm(x, adv, success, norm):
    norms = lp_norm(adv - x, norm)[success]
    return float(norms.median()) if len(norms) else float("inf")


def _check_minimal(name, model, x, y, ours, reference, norm):
    adv, success = ours
    assert torch.equal(success, _fooled(model, adv, y))
    ref_success = _fooled(model, reference, y)
    ours_median = _median_norm(x, adv, success, norm)
    ref_median = _median_norm(x, reference, ref_success, norm)
    print(f"{name}: advlens median {norm} {ours_median:.4f} ({success.float().mean():.1%} found) vs reference "
          f"{ref_median:.4f} ({ref_success.float().mean():.1%})")
    assert success.float().mean() >= ref_success.float().mean() - 0.02
    assert ours_median <= ref_median * 1.05


def test_fgsm_matches_torchattacks(demo_model, parity_set):
    x, y = parity_set
    eps = 4 / 255
    ref = torchattacks.FGSM(demo_model, eps=eps)(x, y)
    _check_fixed("FGSM", demo_model, x, y, _ours(demo_model, x, y, attack="fgsm", eps=eps), ref, "linf", eps)


def test_pgd_linf_matches_torchattacks(demo_model, parity_set):
    x, y = parity_set
    eps = 3 / 255
    torch.manual_seed(0)
    ref = torchattacks.PGD(demo_model, eps=eps, alpha=eps / 4, steps=10, random_start=True)(x, y)
    ours = _ours(demo_model, x, y, attack="pgd", norm="linf", eps=eps, step_size=eps / 4, steps=10)
    _check_fixed("PGD Linf", demo_model, x, y, ours, ref, "linf", eps)


def test_pgd_l2_matches_torchattacks(demo_model, parity_set):
    x, y = parity_set
    eps = 0.25
    torch.manual_seed(0)
    ref = torchattacks.PGDL2(demo_model, eps=eps, alpha=eps / 4, steps=10, random_start=True)(x, y)
    ours = _ours(demo_model, x, y, attack="pgd", norm="l2", eps=eps, step_size=eps / 4, steps=10)
    _check_fixed("PGD L2", demo_model, x, y, ours, ref, "l2", eps)


@pytest.mark.parametrize("loss", ["ce", "dlr"])
def test_apgd_matches_torchattacks(demo_model, parity_set, loss):
    x, y = parity_set
    eps = 2 / 255
    ref = torchattacks.APGD(demo_model, norm="Linf", eps=eps, steps=20, n_restarts=1, loss=loss, seed=0)(x, y)
    ours = _ours(demo_model, x, y, attack=f"apgd-{loss}", norm="linf", eps=eps, steps=20)
    _check_fixed(f"APGD-{loss.upper()}", demo_model, x, y, ours, ref, "linf", eps)


def test_deepfool_matches_torchattacks(demo_model, parity_set):
    x, y = parity_set
    x, y = x[:32], y[:32]  # torchattacks' DeepFool takes a full Jacobian per image: keep it quick
    ref = torchattacks.DeepFool(demo_model, steps=50, overshoot=0.02)(x, y)
    ours = _ours(demo_model, x, y, attack="deepfool", norm="l2", eps=0.0, steps=50)
    _check_minimal("DeepFool L2", demo_model, x, y, ours, ref, "l2")


def test_cw_l2_matches_torchattacks(demo_model, parity_set):
    x, y = parity_set
    ref = torchattacks.CW(demo_model, c=1.0, kappa=0, steps=100, lr=0.01)(x, y)
    ours = _ours(demo_model, x, y, attack="cw", norm="l2", eps=0.0, steps=100, params={"binary_steps": 4})
    _check_minimal("CW L2", demo_model, x, y, ours, ref, "l2")


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_fmn_matches_foolbox(demo_model, parity_set, norm):
    fb = pytest.importorskip("foolbox")
    x, y = parity_set
    fmodel = fb.PyTorchModel(demo_model, bounds=(0, 1))
    # Foolbox's L2 FMN with its default max_stepsize=1.0 stalls at ||delta||_2 = 1 on these 32 px scenes
    # (median exactly 1.0000, vs 0.41 with max_stepsize=0.1): a reference that weak proves nothing, so the
    # L2 reference is Foolbox's DDN (another minimal-L2 attack; median 0.34 here) at the same step count.
    attack = fb.attacks.DDNAttack(steps=100) if norm == "l2" else fb.attacks.LInfFMNAttack(steps=100)
    _, ref, _ = attack(fmodel, x, y, epsilons=None)
    ours = _ours(demo_model, x, y, attack="fmn", norm=norm, eps=0.0, steps=100)
    _check_minimal(f"FMN {norm} (reference: Foolbox {type(attack).__name__})", demo_model, x, y, ours, ref, norm)


def test_deepfool_matches_foolbox(demo_model, parity_set):
    fb = pytest.importorskip("foolbox")
    x, y = parity_set
    fmodel = fb.PyTorchModel(demo_model, bounds=(0, 1))
    _, ref, _ = fb.attacks.L2DeepFoolAttack(steps=50, candidates=10, overshoot=0.02)(fmodel, x, y, epsilons=None)
    ours = _ours(demo_model, x, y, attack="deepfool", norm="l2", eps=0.0, steps=50)
    _check_minimal("DeepFool L2 (Foolbox)", demo_model, x, y, ours, ref, "l2")


def test_square_matches_torchattacks(demo_model, parity_set):
    x, y = parity_set
    eps = 4 / 255
    ref = torchattacks.Square(demo_model, norm="Linf", eps=eps, n_queries=200, n_restarts=1, p_init=0.8,
                              seed=0)(x, y)
    ours = _ours(demo_model, x, y, attack="square", norm="linf", eps=eps, steps=200)
    _check_fixed("Square Linf", demo_model, x, y, ours, ref, "linf", eps)


def test_minimal_norm_attacks_return_adversarials_that_really_fool(demo_model, parity_set):
    x, y = parity_set
    for name, norm in (("fmn", "l2"), ("deepfool", "linf")):
        adv, success = _ours(demo_model, x[:16], y[:16], attack=name, norm=norm, eps=0.0, steps=50)
        assert success.float().mean() > 0.9
        assert np.all(_fooled(demo_model, adv, y[:16]).numpy() == success.numpy())
