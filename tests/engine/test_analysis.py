"""The analysis views' engine functions, on the demo model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advlens.engine import AttackConfig
from advlens.engine.analysis import (
    laplacian_band_energy,
    loss_landscape,
    minimal_perturbations,
    noise_vs_adversarial,
    radial_fft_energy,
    robust_accuracy_curve,
    transfer_table,
)
from advlens.engine.batches import run_attack_on
from advlens.engine.errors import ConfigError
from advlens.engine.imagesets import load_image_set
from advlens.engine.jobs import JobWorker
from advlens.engine.model import Model
from advlens.engine.units import parse_eps_range


@pytest.fixture(scope="module")
def small_set():
    return load_image_set("demo:16", 32, offset=900)


def test_eps_ranges_parse_as_people_write_them():
    assert parse_eps_range("0:4:1/255") == pytest.approx([0, 1 / 255, 2 / 255, 3 / 255, 4 / 255])
    assert parse_eps_range("0:1:0.25") == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert parse_eps_range("1/255,8/255") == pytest.approx([1 / 255, 8 / 255])
    with pytest.raises(ConfigError):
        parse_eps_range("0:1")


def test_robust_accuracy_starts_at_clean_accuracy_and_never_rises(demo_model, small_set):
    config = AttackConfig(attack="pgd", norm="linf", steps=10, restarts=2)
    curve = robust_accuracy_curve(demo_model, small_set.images, small_set.labels, config, parse_eps_range("0:8:2/255"))
    assert curve.accuracy[0] == pytest.approx(curve.clean_accuracy)
    assert all(b <= a for a, b in zip(curve.accuracy, curve.accuracy[1:], strict=False))
    assert curve.accuracy[-1] < curve.accuracy[0] - 0.5


def test_minimal_perturbations_skip_misclassified_and_fool_the_rest(demo_model, small_set):
    result = minimal_perturbations(demo_model, small_set.images, small_set.labels,
                                   AttackConfig(attack="fmn", norm="l2", steps=50))
    with torch.no_grad():
        correct = int((demo_model(small_set.images).argmax(1) == small_set.labels).sum())
    assert result.skipped == 16 - correct
    assert len(result.norms) == correct
    assert sum(result.success) >= correct - 1
    assert 0 < result.median() < 5
    with pytest.raises(ConfigError, match="not a minimal-norm attack"):
        minimal_perturbations(demo_model, small_set.images, small_set.labels, AttackConfig(attack="pgd"))


def test_landscape_centre_is_the_clean_prediction_and_the_adversarial_side_changes_class(demo_model, small_set):
    x, y = small_set.images[0], int(small_set.labels[0])
    adv, ok = run_attack_on(demo_model, x[None], torch.tensor([y]), AttackConfig(attack="fmn", norm="l2", steps=50))
    assert ok[0]
    delta = adv[0] - x
    land = loss_landscape(demo_model, x, y, direction=delta, radius=2 * float(delta.norm()), grid=21)
    row, col = land.centre()
    with torch.no_grad():
        clean = int(demo_model(x[None]).argmax())
    assert land.prediction[row, col] == clean
    assert (land.prediction[row, col:] != clean).any()  # walking the adversarial direction changes the class
    assert land.loss.shape == (21, 21)
    assert land.adversarial_point[0] == pytest.approx(float(delta.norm()), rel=1e-5)


def test_noise_of_the_same_norm_flips_far_fewer_images_than_the_attack(demo_model, small_set):
    x, y = small_set.images, small_set.labels
    with torch.no_grad():
        keep = demo_model(x).argmax(1) == y
    x, y = x[keep], y[keep]
    adv, _ = run_attack_on(demo_model, x, y, AttackConfig(attack="pgd", norm="linf", eps=8 / 255, steps=20))
    result = noise_vs_adversarial(demo_model, x, y, adv, trials=5)
    assert result.adversarial_fooled >= 0.7
    assert result.gaussian_fooled <= result.adversarial_fooled / 3
    assert result.uniform_fooled <= result.adversarial_fooled / 3


class _Flipped(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(torch.flip(x, dims=[-1]))


def test_transfer_table_has_each_models_own_success_on_the_diagonal(demo_model, small_set):
    flipped = Model(_Flipped(demo_model.network), demo_model.card)
    config = AttackConfig(attack="pgd", norm="linf", eps=8 / 255, steps=20)
    table = transfer_table({"demo": demo_model, "demo-flipped": flipped}, small_set.images, small_set.labels, config)
    assert table.models == ["demo", "demo-flipped"]
    assert all(0 <= v <= 1 for row in table.success for v in row)
    assert table.success[0][0] >= 0.7 and table.success[1][1] >= 0.7
    assert table.images > 0


def test_frequency_views_tell_noise_from_smooth_images():
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(3, 64, 64, generator=g)
    ramp = torch.linspace(0, 1, 64).expand(3, 64, 64).clone()
    noise_bands, ramp_bands = laplacian_band_energy(noise), laplacian_band_energy(ramp)
    assert sum(noise_bands) == pytest.approx(1.0) and sum(ramp_bands) == pytest.approx(1.0)
    assert noise_bands[0] > 0.5 and ramp_bands[0] < 0.05
    centres, energy = radial_fft_energy(noise, bins=8)
    assert len(centres) == 8 and energy.sum() == pytest.approx(1.0)
    _, ramp_energy = radial_fft_energy(ramp, bins=8)
    assert ramp_energy[0] > 0.8 and energy[0] < 0.1


def test_a_sweep_on_the_task_runner_reports_progress_and_can_be_cancelled(demo_model, small_set):
    runner = JobWorker(supersede=True)
    try:
        config = AttackConfig(attack="pgd", norm="linf", steps=200)
        handle = runner.submit(lambda control: robust_accuracy_curve(
            demo_model, small_set.images, small_set.labels, config, parse_eps_range("0:20:1/255"), progress=control))
        handle.cancel()
        outcome = handle.wait(timeout=120)
        assert outcome.kind == "cancelled"
        done = runner.submit(lambda control: robust_accuracy_curve(
            demo_model, small_set.images[:4], small_set.labels[:4], AttackConfig(steps=2), [0.0, 2 / 255],
            progress=control))
        outcome = done.wait(timeout=120)
        assert outcome.kind == "finished" and len(outcome.result.accuracy) == 2
        assert done.progress.done == 2 and done.progress.total == 2
    finally:
        runner.shutdown()


def test_a_reported_partial_result_is_a_snapshot_the_computation_cannot_change_under_the_reader():
    from advlens.engine.jobs import Progress

    progress = Progress()
    rows = {16: 0.5}
    progress.report(1, 2, rows)
    rows[24] = 0.75  # the computation goes on with its own object while the GUI reads the last report
    assert progress.snapshot()[3] == {16: 0.5}


def test_analysis_inputs_are_plain_and_results_serialise(demo_model, small_set):
    import json

    curve = robust_accuracy_curve(demo_model, small_set.images[:4], small_set.labels[:4], AttackConfig(steps=2),
                                  [0.0, 4 / 255])
    assert json.loads(json.dumps(curve.to_dict()))["eps"] == pytest.approx([0.0, 4 / 255])
    assert np.isfinite(curve.accuracy).all()


