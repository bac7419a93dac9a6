"""How a run computes, never what: the fast mode (the step compiled and replayed) gives the eager loop's
results, and autocast / channels_last keep every constraint and the record's shape."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advlens.engine import AttackConfig, RunConfig, execute, prepare_job
from advlens.engine.attacks import build_attack
from advlens.engine.attacks.fast import make_fast_step
from advlens.engine.compute import compute_model
from advlens.engine.criteria import make_criterion
from advlens.engine.errors import ConfigError
from advlens.engine.metrics import STEP_METRICS
from advlens.engine.norms import lp_norm
from advlens.engine.telemetry import Telemetry
from tests.conftest import demo_images

EPS = 8 / 255


def _run(model, x, y, **settings):
    attack = AttackConfig(attack="pgd", norm="linf", eps=EPS, step_size=2 / 255, steps=6, seed=3)
    job = prepare_job(RunConfig(resolution=None, attack=attack, **settings), model=model, image=x, label=y)
    return execute(job, Telemetry(batch=len(x), frame_interval_s=0))


@pytest.mark.slow
def test_the_fast_mode_replays_a_compiled_step_with_the_eager_results(demo_model):
    """torch.compile (the default mode on this CPU; "reduce-overhead", i.e. CUDA graphs, on a GPU)."""
    x, y = demo_images(2, 24, offset=300)
    criterion = make_criterion(y, None)
    assert make_fast_step(demo_model, x, criterion, 2 / 255, EPS, "linf", 0.0) is not None, "it did not compile"
    run = build_attack(AttackConfig(attack="pgd", steps=1), fast=True).steps(demo_model, x, criterion,
                                                                            torch.Generator().manual_seed(0))
    assert next(run).stage == "PGD · fast"  # the compiled step ran, not the eager fallback
    eager, fast = _run(demo_model, x, y), _run(demo_model, x, y, fast=True)
    np.testing.assert_allclose(fast.adversarial, eager.adversarial, atol=1e-5, rtol=0)
    assert fast.success == eager.success and fast.adv_pred == eager.adv_pred and fast.steps_run == eager.steps_run
    for name in STEP_METRICS:
        np.testing.assert_allclose(fast.metrics[name], eager.metrics[name], rtol=1e-4, atol=1e-5, equal_nan=True)
    np.testing.assert_allclose(fast.metrics["linf"], eager.metrics["linf"], atol=1e-5)
    assert fast.config.fast and not eager.config.fast


def test_the_fast_mode_names_the_attacks_it_leaves_eager(demo_model):
    x, y = demo_images(1, 16)
    config = RunConfig(resolution=None, fast=True, attack=AttackConfig(attack="mifgsm", eps=EPS, steps=2))
    job = prepare_job(config, model=demo_model, image=x, label=y)
    assert any("fast mode covers PGD, BIM and FGSM" in note for note in job.notes)


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_autocast_and_channels_last_keep_the_budget_and_the_record(demo_model, precision):
    x, y = demo_images(4, 24, offset=40)
    record = _run(demo_model, x, y, precision=precision, channels_last=True)
    adv = torch.from_numpy(record.adversarial)
    assert adv.is_contiguous() and adv.min() >= 0 and adv.max() <= 1
    assert (lp_norm(adv - x, "linf") <= EPS * (1 + 1e-5)).all()
    assert record.metrics["loss"].shape == (7, 4) and record.metrics["loss"].dtype == np.float64
    assert np.isfinite(record.metrics["l2"]).all()
    computed = compute_model(demo_model, RunConfig(precision=precision, channels_last=True))
    with torch.no_grad():  # the record's prediction is the model's as the run computed it (bf16 logits differ)
        assert record.adv_pred == computed(adv).argmax(1).tolist()
    assert next(demo_model.parameters()).is_contiguous()  # the caller's model keeps its memory format


def test_an_unknown_precision_is_refused_in_one_line(demo_model):
    x, y = demo_images(1, 16)
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16, fp16"):
        prepare_job(RunConfig(resolution=None, precision="fp8"), model=demo_model, image=x, label=y)
