"""The Resolution lab: measurements per (image, resolution), slope fits, real adversarials."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advlens.engine.demo.shapes import eval_seeds, render_batch
from advlens.engine.labs.resolution import ResolutionLabConfig, bisect_pgd, run_resolution_lab
from advlens.engine.labs.slopes import fit_loglog, median_slope_with_interval, verdict
from advlens.engine.norms import lp_norm


@pytest.fixture(scope="module")
def tiny_result(demo_model):
    config = ResolutionLabConfig(images="demo:5", resolutions=[16, 24, 32], steps=30, bootstrap=100)
    return run_resolution_lab(config, model=demo_model)


def test_one_measurement_per_image_resolution_and_norm(tiny_result, demo_model):
    r = tiny_result
    assert len(r.measurements) == 5 * 3 * 2
    keys = {(m.image, m.resolution, m.norm) for m in r.measurements}
    assert len(keys) == 30
    for m in r.measurements:
        if m.success:
            assert m.l2 > 0 and m.linf > 0 and m.rms > 0 and m.rel_l2 > 0
            assert m.rms == pytest.approx(m.l2 / np.sqrt(3 * m.resolution**2))
        else:
            assert np.isnan(m.l2)


def test_first_order_estimates_are_positive_and_below_what_the_linear_model_allows(tiny_result):
    for m in tiny_result.measurements:
        if m.correct:
            assert m.first_order_l2 > 0 and m.first_order_linf > 0
            # Hoelder: ‖g‖₁ <= sqrt(n)·‖g‖₂, so the Linf estimate is at least the L2 one / sqrt(n)
            assert m.first_order_linf >= m.first_order_l2 / np.sqrt(3 * m.resolution**2) * (1 - 1e-5)
        else:
            assert np.isnan(m.first_order_l2)


def test_skipped_counts_are_the_misclassified_images(tiny_result, demo_model):
    seeds = eval_seeds(5, offset=2000)
    for size in (16, 24, 32):
        images, labels = render_batch(seeds, size)
        with torch.no_grad():
            wrong = int((demo_model(torch.from_numpy(images)).argmax(1) != torch.from_numpy(labels)).sum())
        assert tiny_result.skipped[size] == wrong
        assert sum(1 for m in tiny_result.measurements if m.resolution == size and not m.correct) == 2 * wrong


def test_fits_and_verdicts_cover_every_metric(tiny_result):
    assert set(tiny_result.fits) == {"l2", "rel_l2", "rms", "linf", "grad_l1", "grad_l2", "first_order_l2",
                                     "first_order_linf"}
    assert all(np.isfinite(f.slope) for f in tiny_result.fits.values())
    assert any("Dube B" in v for v in tiny_result.verdicts)
    assert "sees every resolution natively" in " ".join(tiny_result.notes)


def test_slope_fit_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    sizes = [16, 24, 32, 48, 64, 96, 128]
    truth = -0.5
    table = np.array([[3.0 * s**truth * np.exp(rng.normal(0, 0.1)) for s in sizes] for _ in range(40)])
    fit = median_slope_with_interval(sizes, table, "l2", boot=300)
    assert fit.slope == pytest.approx(truth, abs=0.05)
    assert fit.low < truth < fit.high and fit.high - fit.low < 0.2
    assert "consistent with Dube C" in verdict(fit)
    assert "not consistent with" in verdict(fit) and "Dube B" in verdict(fit).split("not consistent with")[1]
    assert fit_loglog(np.array(sizes), np.array([2.0 * s for s in sizes]))[0] == pytest.approx(1.0)


def test_the_perturbation_at_each_resolution_really_flips_the_model(demo_model):
    for size in (16, 32, 48):
        images, labels = render_batch(eval_seeds(4, offset=2000), size)
        x, y = torch.from_numpy(images), torch.from_numpy(labels)
        with torch.no_grad():
            keep = demo_model(x).argmax(1) == y
        x, y = x[keep], y[keep]
        from advlens.engine import AttackConfig
        from advlens.engine.batches import run_attack_on

        adv, ok = run_attack_on(demo_model, x, y, AttackConfig(attack="fmn", norm="l2", steps=50))
        with torch.no_grad():
            flipped = demo_model(adv).argmax(1) != y
        assert torch.equal(flipped, ok) and ok.all()
        assert adv.min() >= 0 and adv.max() <= 1


def test_bisected_pgd_finds_adversarials_close_to_fmn(demo_model):
    images, labels = render_batch(eval_seeds(4, offset=2000), 24)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    adv, ok = bisect_pgd(demo_model, x, y, "l2", steps=10, iterations=8)
    with torch.no_grad():
        assert torch.equal(demo_model(adv).argmax(1) != y, ok)
    assert ok.all() and (lp_norm(adv - x, "l2") < 3).all()


def test_nearest_upsampling_is_a_labelled_control(demo_model):
    config = ResolutionLabConfig(images="sample:star", resolutions=[16, 32], steps=20, condition="nearest-upsampled",
                                 bootstrap=10)
    result = run_resolution_lab(config, model=demo_model)
    assert any("nearest-neighbour upsampling" in n for n in result.notes)
    assert len(result.measurements) == 4




def test_a_fixed_size_model_is_measured_behind_a_resize_and_says_so(demo_model):
    from dataclasses import replace

    from advlens.engine.model import Model

    card = replace(demo_model.card, input_size=32, name="fixed32")
    fixed = Model(demo_model.network, card)
    result = run_resolution_lab(ResolutionLabConfig(images="demo:2", resolutions=[16, 48], steps=10, bootstrap=10),
                                model=fixed)
    assert result.model_mode == "resize"
    assert any("resized to it inside the model" in n for n in result.notes)
