"""Attacks on the demo model: budgets respected, predictions changed, seeds and cancel honoured."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advlens.engine import AttackConfig, JobControl, RunConfig, execute, prepare_job, run_attack
from advlens.engine.norms import lp_norm
from advlens.engine.samples import load_sample, sample_label, sample_names
from advlens.engine.telemetry import Telemetry
from tests.conftest import demo_images

TOL = 1e-5


def _every_step(batch: int = 1) -> Telemetry:
    """A telemetry that takes a frame, and so the norms, on every step: every iterate can be checked."""
    return Telemetry(batch=batch, frame_interval_s=0)


def _attack_batch(model, images, labels, **attack):
    config = RunConfig(resolution=None, attack=AttackConfig(**attack))
    return execute(prepare_job(config, model=model, image=images, label=labels), _every_step(len(images)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    norm=st.sampled_from(["linf", "l2"]),
    eps_units=st.integers(0, 32),
    steps=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
    size=st.sampled_from([16, 24, 32, 40]),
    random_start=st.booleans(),
    attack=st.sampled_from(["pgd", "fgsm"]),
)
def test_adversarials_stay_in_the_epsilon_ball_and_the_box(demo_model, norm, eps_units, steps, seed, size,
                                                           random_start, attack):
    eps = eps_units / 255 if norm == "linf" else eps_units / 16
    images, labels = demo_images(3, size, offset=seed % 1000)
    record = _attack_batch(demo_model, images, labels, attack=attack, norm=norm, eps=eps, steps=steps,
                           seed=seed, random_start=random_start)
    adv = torch.from_numpy(record.adversarial)
    assert adv.min() >= 0 and adv.max() <= 1
    norms = lp_norm(adv - images, norm)
    assert (norms <= eps * (1 + TOL) + TOL).all(), (norms, eps)
    # every intermediate iterate the telemetry saw was inside the ball as well
    assert (record.metrics[norm] <= eps * (1 + TOL) + TOL).all()


def _clean_correct(model, images, labels):
    with torch.no_grad():
        return model(images).argmax(1) == labels


def test_pgd_linf_fools_the_demo_model_on_most_images(demo_model, demo_set_32):
    images, labels = demo_set_32
    correct = _clean_correct(demo_model, images, labels)
    assert correct.float().mean() >= 0.85, "the demo model should classify most held-out scenes"
    record = _attack_batch(demo_model, images[correct], labels[correct], norm="linf", eps=8 / 255, steps=20)
    rate = sum(record.success) / len(record.success)
    print(f"PGD Linf 8/255 20 steps on {len(record.success)} correctly classified 32px scenes: {rate:.1%} fooled")
    assert rate >= 0.7  # measured 77% at 32 px (86% at 64 px): the demo CNN is not a pushover
    adv_pred = torch.tensor(record.adv_pred)
    assert (adv_pred[torch.tensor(record.success)] != labels[correct][torch.tensor(record.success)]).all()


def test_pgd_l2_fools_the_demo_model_on_most_images(demo_model, demo_set_32):
    images, labels = demo_set_32
    correct = _clean_correct(demo_model, images, labels)
    record = _attack_batch(demo_model, images[correct], labels[correct], norm="l2", eps=1.0, steps=20)
    rate = sum(record.success) / len(record.success)
    print(f"PGD L2 eps 1.0 on 32px scenes: {rate:.1%} fooled")
    assert rate >= 0.8


def test_targeted_pgd_reaches_its_target_on_most_images(demo_model, demo_set_32):
    images, labels = demo_set_32
    correct = _clean_correct(demo_model, images, labels)
    images, labels = images[correct], labels[correct]
    target = 8  # heart
    keep = labels != target
    record = _attack_batch(demo_model, images[keep], labels[keep], norm="linf", eps=16 / 255, steps=40,
                           target=target)
    reached = torch.tensor(record.adv_pred) == target
    print(f"targeted PGD -> heart: {reached.float().mean():.1%} reached the target")
    assert reached.float().mean() >= 0.6  # measured 68%
    assert torch.equal(reached, torch.tensor(record.success))


def test_fgsm_at_eps_zero_changes_nothing(demo_model, demo_set_32):
    images, labels = demo_set_32
    record = _attack_batch(demo_model, images[:16], labels[:16], attack="fgsm", eps=0.0)
    assert torch.equal(torch.from_numpy(record.adversarial), images[:16])
    assert record.adv_pred == record.clean_pred


def test_fgsm_changes_predictions_at_a_real_budget(demo_model, demo_set_32):
    images, labels = demo_set_32
    correct = _clean_correct(demo_model, images, labels)
    record = _attack_batch(demo_model, images[correct], labels[correct], attack="fgsm", eps=8 / 255)
    assert sum(record.success) >= 0.3 * len(record.success)
    assert abs(max(record.norms["linf"]) - 8 / 255) < 1e-6


def test_same_seed_same_result_other_seed_other_start(demo_model):
    image = load_sample("star", 32)
    config = RunConfig(image="sample:star", resolution=32, attack=AttackConfig(steps=5, seed=7))
    a = run_attack(config, model=demo_model, image=image, label=sample_label("star"))
    b = run_attack(config, model=demo_model, image=image, label=sample_label("star"))
    assert torch.equal(torch.from_numpy(a.adversarial), torch.from_numpy(b.adversarial))
    config.attack.seed = 8
    c = run_attack(config, model=demo_model, image=image, label=sample_label("star"))
    assert not torch.equal(torch.from_numpy(a.adversarial), torch.from_numpy(c.adversarial))


class _CancelAfter(JobControl):
    """Cancels from the inside after `n` steps have been allowed: the attack must stop right there."""

    def __init__(self, n: int):
        super().__init__()
        self.allowed = 0
        self.n = n

    def wait_to_continue(self, before_waiting=None) -> bool:
        if self.allowed == self.n:
            self.cancel()
        ok = super().wait_to_continue(before_waiting)
        self.allowed += ok
        return ok


def test_cancel_between_steps_stops_the_attack(demo_model):
    job = prepare_job(RunConfig(image="sample:ring", resolution=32, attack=AttackConfig(steps=50)), model=demo_model)
    record = execute(job, control=_CancelAfter(4))
    assert record.status == "cancelled"
    assert record.metrics["loss"].shape[0] == 4  # steps 0..3 ran, nothing after the cancel
    assert record.steps_run == 3


def test_telemetry_has_one_row_per_step_and_starts_at_the_start_point(demo_model):
    job = prepare_job(RunConfig(image="sample:square", resolution=32,
                                attack=AttackConfig(steps=7, random_start=False)), model=demo_model)
    record = execute(job, _every_step())
    assert record.metrics["loss"].shape == (8, 1)
    assert record.metrics["l2"][0, 0] == 0.0  # no random start: step 0 is the image itself
    assert record.metrics["l2"][-1, 0] > 0


def test_pgd_raises_the_loss_it_maximises(demo_model):
    for name in ("heart", "arrow", "circle"):
        job = prepare_job(RunConfig(image=f"sample:{name}", resolution=48,
                                    attack=AttackConfig(steps=10, eps=4 / 255, random_start=False)), model=demo_model)
        loss = execute(job).metrics["loss"][:, 0]
        assert loss[-1] > loss[0]


def test_early_stop_freezes_images_once_fooled(demo_model, demo_set_32):
    images, labels = demo_set_32
    record = _attack_batch(demo_model, images[:8], labels[:8], eps=16 / 255, steps=30, early_stop=True)
    success_rows = record.metrics["success"] > 0
    assert success_rows.any()
    l2 = record.metrics["l2"]
    for i in range(l2.shape[1]):
        hits = success_rows[:, i].nonzero()[0]
        if len(hits):
            first = hits[0]
            assert (l2[first:, i] == l2[first, i]).all(), "a fooled image kept changing"
    if all(record.success):
        assert record.steps_run < 30


def test_every_sample_is_classified_correctly_at_64px(demo_model):
    wrong = []
    for name in sample_names():
        with torch.no_grad():
            pred = int(demo_model(load_sample(name, 64)[None]).argmax())
        if pred != sample_label(name):
            wrong.append(name)
    assert not wrong, f"bundled samples misclassified: {wrong}"


def test_fmn_crosses_a_boundary_its_linear_estimate_only_approaches():
    """Aiming exactly at the linearised boundary, FMN crept up to a tangent boundary and never crossed it
    (margin to 5e-6, 'not fooled', as on a random-weight ViT); aiming past it by gamma, it crosses within
    its default 20 steps and still ends close to the boundary (the true distance here is 1.0)."""
    from advlens.engine.model import Model, ModelCard
    from tests.engine.test_diagnostics import TangentBoundary

    model = Model(TangentBoundary(3 * 8 * 8), ModelCard(name="tangent", labels=["near", "far"]))
    x = torch.full((1, 3, 8, 8), 0.5)
    record = _attack_batch(model, x, torch.tensor([0]), attack="fmn", norm="l2", steps=20)
    assert bool(record.success[0])
    assert 1.0 <= float(record.norms["l2"][0]) < 1.1


@settings(max_examples=40, deadline=None)
@given(pattern=st.lists(st.lists(st.booleans(), min_size=3, max_size=3), min_size=1, max_size=8),
       reads_back=st.booleans())
def test_the_latest_adversarial_iterate_is_kept_as_a_where_every_step_would(pattern, reads_back):
    """The cheap keep-best (a copy only when an image stops being adversarial) against the plain one."""
    from advlens.engine.attacks.base import LatestAdversarial, per_image

    x = torch.zeros(3, 1, 2, 2)
    latest = LatestAdversarial(x)
    latest._cheap_sync = reads_back  # False: the GPU's way, a copy every step without reading back
    best, found = x.clone(), torch.zeros(3, dtype=torch.bool)
    for i, flags in enumerate(pattern):
        x_adv = torch.full_like(x, float(i + 1))
        logits = torch.full((3, 4), float(i + 1))
        success = torch.tensor(flags)
        latest.update(x_adv, logits, success)
        best, found = torch.where(per_image(success, x_adv), x_adv, best), found | success
    expected = torch.where(per_image(found, x), best, x_adv)
    got, success, got_logits = latest.result()
    assert torch.equal(got, expected) and torch.equal(success, found)
    assert torch.equal(got_logits[:, 0], got[:, 0, 0, 0])  # the logits belong to the iterate returned
