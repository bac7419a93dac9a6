"""The catalogue's minimal-norm search by bisection (`pgd-bisect`): a wrapper around PGD like `Restarted`,
run on images and, through a two-logit adapter, on the Stability lab's vector networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advlens.engine import AttackConfig
from advlens.engine.attacks import ATTACKS, AttackRun, BisectedPgd, make_attack
from advlens.engine.catalogue import AttackKind, attack_spec, planned_steps
from advlens.engine.criteria import Misclassification
from advlens.engine.labs.stability_measure import TwoLogits, pgd_minimal_distance
from advlens.engine.labs.stability_nets import ReluNet
from advlens.engine.labs.stability_training import torch_threads
from advlens.engine.norms import lp_norm


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread (two threads waiting for each other cost more than they save here)."""
    with torch_threads(1):
        yield


class Linear(nn.Module):
    """Two classes split by the hyperplane w.x = b: the minimal L2 distance is |w.x - b| / ‖w‖₂ and the
    minimal Linf one |w.x - b| / ‖w‖₁ (inside the box, for points far enough from its faces)."""

    def __init__(self, dim: int):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.randn(dim, generator=g)
        self.b = 0.5 * self.w.sum()  # through the centre of the cube

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.flatten(1) @ self.w - self.b
        return torch.stack([-z, z], dim=1)


def test_it_is_a_registered_minimal_norm_attack():
    spec = attack_spec("pgd-bisect")
    assert ATTACKS["pgd-bisect"] is BisectedPgd and spec.kind is AttackKind.MINIMAL_NORM
    assert planned_steps(AttackConfig(attack="pgd-bisect", steps=20, params={"binary_steps": 6})) == 120
    assert isinstance(make_attack(AttackConfig(attack="pgd-bisect", norm="l2")), BisectedPgd)


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_it_finds_the_minimal_distance_to_a_hyperplane(norm):
    model = Linear(12)
    x = 0.4 + 0.2 * torch.rand(16, 12, generator=torch.Generator().manual_seed(1))
    y = model(x).argmax(1)
    margin = (x @ model.w - model.b).abs()
    exact = margin / lp_norm(model.w[None], "l1" if norm == "linf" else "l2")
    config = AttackConfig(attack="pgd-bisect", norm=norm, steps=20, params={"binary_steps": 20})
    result = AttackRun(make_attack(config), model, x, Misclassification(y), torch.Generator()).run_to_end()
    adv, ok = result.x_adv, result.success
    found = lp_norm(adv - x, norm)
    assert ok.all() and torch.equal(model(adv).argmax(1) != y, ok)
    assert (found >= exact * (1 - 1e-4)).all()  # never below the true minimum: every value is a real adversarial
    assert (found <= exact * 1.02).all()  # and close to it
    assert adv.min() >= 0 and adv.max() <= 1


def test_steps_stream_through_every_budget_and_a_failure_reports_its_reach():
    model = Linear(6)
    x = torch.full((3, 6), 0.5) + torch.tensor([[0.1], [0.2], [0.3]])
    y = model(x).argmax(1)
    config = AttackConfig(attack="pgd-bisect", norm="linf", steps=4, params={"binary_steps": 5})
    run = AttackRun(BisectedPgd(config, upper=torch.full((3,), 1e-3)), model, x, Misclassification(y),
                    torch.Generator().manual_seed(0))
    steps = list(run)
    assert [s.index for s in steps] == list(range(5 * 5))  # 4 steps and the last iterate, per budget
    assert steps[-1].stage.startswith("PGD + bisection · budget 5/5")
    assert not run.result.success.any()  # far beyond 1e-3: nothing found below the given upper bound
    reach = lp_norm(run.result.x_adv - x, "linf")
    assert (reach > 4e-4).all() and (reach <= 1e-3 + 1e-7).all()  # it searched up to (nearly) the bound


def test_the_two_logit_adapter_measures_a_vector_net_with_the_same_criteria():
    net = ReluNet(3, [2]).double()  # logit relu(x1 - 0.5) - relu(0.5 - x1) = x1 - 0.5: exact distance |x1 - 0.5|
    with torch.no_grad():
        first, out = net.layers
        first.weight.copy_(torch.tensor([[1.0, 0, 0], [-1.0, 0, 0]]))
        first.bias.copy_(torch.tensor([-0.5, 0.5]))
        out.weight.copy_(torch.tensor([[1.0, -1.0]]))
        out.bias.zero_()
    x = torch.tensor([[0.05, 0.5, 0.5], [0.3, 0.2, 0.9], [0.6, 0.1, 0.1], [0.9, 0.9, 0.9]], dtype=torch.float64)
    logits = TwoLogits(net)(x)
    positive = net.logit(x) > 0
    assert torch.equal(logits.argmax(1), positive.long())
    exact = (x[:, 0] - 0.5).abs()
    for norm in ("l2", "linf"):
        found = pgd_minimal_distance(net, x, positive, norm, torch.full((4,), float("inf"), dtype=torch.float64),
                                     torch.Generator().manual_seed(0), steps=15, searches=14)
        assert (found >= exact - 1e-9).all() and (found <= exact * 1.01 + 1e-6).all(), (norm, found)
        capped = pgd_minimal_distance(net, x, positive, norm, exact / 2, torch.Generator(), steps=5, searches=4)
        assert torch.equal(capped, exact / 2)  # nothing below the known bound: the bound is what is returned
