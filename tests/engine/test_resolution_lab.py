"""The Resolution lab: measurements per (image, resolution), paired slope fits with censoring, the joint
verdict, the convergence check, real adversarials."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advlens.engine.demo.shapes import eval_seeds, render_batch
from advlens.engine.labs.readings import GROUPS, JOINT_METRICS, PREDICTIONS, joint_verdict, metric_verdict
from advlens.engine.labs.resolution import ResolutionLabConfig, run_resolution_lab
from advlens.engine.labs.slopes import SlopeFit, fit_loglog, paired_slope, per_image_slopes
from advlens.engine.labs.stability_training import torch_threads


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on the shared 2-core machine two threads mostly wait for each other."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def tiny_result(demo_model):
    config = ResolutionLabConfig(images="demo:5", resolutions=[16, 24, 32], steps=30, bootstrap=100,
                                 convergence_images=2)
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
            assert np.isnan(m.reached)
        else:
            assert np.isnan(m.l2)
            assert not m.correct or m.reached >= 0  # a failed search records how far it got


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
    assert set(tiny_result.fits) == {"l2", "rel_l2", "rms", "linf", "grad_l1", "grad_l2", "margin_grad_l1",
                                     "margin_grad_l2", "first_order_l2", "first_order_linf"}
    assert all(np.isfinite(f.slope) for f in tiny_result.fits.values())
    joint, *lines = tiny_result.verdicts
    assert joint == tiny_result.joint.sentence and joint.startswith("The ")  # the joint sentence leads
    assert len(lines) == len(tiny_result.fits) and any("Dube B" in v for v in lines)
    assert "sees every resolution natively" in " ".join(tiny_result.notes)
    assert "could not be read here" in " ".join(tiny_result.notes)


def test_the_convergence_check_reruns_the_end_sizes_with_twice_the_steps(tiny_result):
    checks = tiny_result.convergence
    assert {(c.resolution, c.norm) for c in checks} <= {(16, "l2"), (16, "linf"), (32, "l2"), (32, "linf")}
    assert checks and all(c.steps == 60 and 1 <= c.images <= 2 for c in checks)
    note = [n for n in tiny_result.notes if "twice the steps" in n or "Convergence" in n]
    assert len(note) == 1 and ("WARNING" in note[0]) == any(not c.converged for c in checks)
    assert tiny_result.prediction_changes is None  # labelled scenes: accuracy says it


def test_slope_fit_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    sizes = [16, 24, 32, 48, 64, 96, 128]
    truth = -0.5
    scale = rng.lognormal(0, 1.0, (40, 1))  # images differ a lot in scale: a paired fit does not care
    table = scale * np.array([[3.0 * s**truth * np.exp(rng.normal(0, 0.1)) for s in sizes] for _ in range(40)])
    fit = paired_slope(sizes, table, "l2", boot=300)
    assert fit.slope == pytest.approx(truth, abs=0.05)
    assert fit.low < truth < fit.high and fit.high - fit.low < 0.2
    line = metric_verdict(fit)
    assert "consistent with Dube C" in line
    assert "not consistent with" in line and "Dube B" in line.split("not consistent with")[1]
    assert fit_loglog(np.array(sizes), np.array([2.0 * s for s in sizes]))[0] == pytest.approx(1.0)


def test_seeds_widen_the_interval_when_they_disagree():
    rng = np.random.default_rng(1)
    sizes = [16, 32, 64, 128]
    one = np.array([[s ** 0.5 * np.exp(rng.normal(0, 0.05)) for s in sizes] for _ in range(30)])
    agree = paired_slope(sizes, np.stack([one, one * 1.1]), "l2", boot=400)
    disagree = paired_slope(sizes, np.stack([one, one * np.array(sizes) ** 0.6]), "l2", boot=400)
    assert agree.seeds == 2 and agree.images == 60
    assert agree.low < 0.5 < agree.high and agree.high - agree.low < 0.1
    assert disagree.high - disagree.low > 0.5  # resampling seeds puts their disagreement in the interval


def test_a_failed_search_is_censored_not_dropped():
    sizes = [16, 32, 64, 128]
    values = np.array([[1.0, 2.0, 4.0, 8.0], [1.0, 2.0, 4.0, 8.0]])  # slope +1
    censored = np.array([[False, False, False, True], [True, False, False, False]])
    values[0, 3] = 3.0  # failed at the largest size having reached 3: the truth is at least 3
    values[1, 0] = 0.5  # failed at the smallest having reached 0.5
    point, low, high = per_image_slopes(sizes, values, censored)
    assert low[0] == pytest.approx(point[0]) and high[0] == np.inf  # can only be steeper than the plug-in
    assert low[1] == -np.inf and high[1] == pytest.approx(point[1])  # a larger start: only shallower
    exact = per_image_slopes(sizes, np.array([[1.0, 2.0, 4.0, 8.0]]))[0][0]
    assert exact == pytest.approx(1.0) and point[0] < exact
    fit = paired_slope(sizes, values, "l2", censored, boot=50)
    assert fit.censored == 2 and fit.images == 2
    dropped = per_image_slopes(sizes, np.where(censored, np.nan, values))[0]
    assert dropped[0] == pytest.approx(1.0)  # dropping the failure would have hidden it


def _fit(metric: str, slope: float, half_width: float = 0.1) -> SlopeFit:
    return SlopeFit(metric, slope, slope - half_width, slope + half_width, 0.0, 4, 32)


@pytest.mark.parametrize(("slopes", "group"), [
    ({"l2": 1.0, "linf": 0.0, "margin_grad_l1": 0.0}, "the scale-consistent null"),
    ({"l2": 0.0, "linf": -1.0, "margin_grad_l1": 1.0}, "Dube A or Simon-Gabriel"),
    ({"l2": 0.0, "linf": -1.0, "margin_grad_l1": -3.0}, "Dube A or Simon-Gabriel"),  # Dube A alone
    ({"l2": -1.0, "linf": -2.0, "margin_grad_l1": 0.5}, "Dube B or C"),
    ({"l2": -0.5}, "Dube B or C"),  # Linf and the gradient not measured: they constrain nothing
])
def test_the_joint_verdict_names_the_supported_group(slopes, group):
    verdict = joint_verdict({m: _fit(m, v) for m, v in slopes.items()})
    assert verdict.supported_groups == [group] and verdict.outcome == "group"
    assert verdict.sentence.startswith(f"The data support {group}")
    if slopes.get("margin_grad_l1") == -3.0:
        assert verdict.supported_readings == ["Dube A"] and "Dube A alone" in verdict.sentence
    if len(slopes) == 1:
        assert "not measured" in verdict.sentence


def test_the_joint_verdict_says_when_intervals_are_too_wide_or_nothing_fits():
    wide = joint_verdict({m: _fit(m, 0.0, 1.5) for m in JOINT_METRICS})
    assert wide.outcome == "ambiguous" and len(wide.supported_groups) == 3
    assert wide.sentence.startswith("The intervals are too wide to tell")
    none = joint_verdict({"l2": _fit("l2", 3.0), "linf": _fit("linf", 2.0), "margin_grad_l1": _fit("margin_grad_l1", 0)})
    assert none.outcome == "none" and none.sentence.startswith("The data support none")
    assert "the closest reading is scale-consistent (null): ‖∂margin/∂x‖₁ inside" in none.sentence
    assert joint_verdict({}).outcome == "no data"
    # every reading of the table is in some group, and every group's readings predict raw L2
    assert {r for members in GROUPS.values() for r in members} == set(PREDICTIONS["l2"])


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


def test_the_lab_runs_the_catalogues_bisected_pgd(demo_model):
    config = ResolutionLabConfig(images="demo:3", resolutions=[16, 24], attack="pgd-bisect", steps=10, norms=["l2"],
                                 bootstrap=10, convergence_images=0)
    result = run_resolution_lab(config, model=demo_model)
    found = [m for m in result.measurements if m.success]
    assert found and all(0 < m.l2 < 3 for m in found)
    assert result.convergence == []


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
