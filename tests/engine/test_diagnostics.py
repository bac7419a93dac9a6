"""Indicators of attack failure: each fires where its failure happens, its fix helps, and the clean demo
at a generous budget triggers none."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest
import torch

from advlens.engine import AttackConfig, RunConfig
from advlens.engine.analysis.sweep import robust_accuracy_curve
from advlens.engine.attacks import AttackRun, make_attack
from advlens.engine.batches import run_attack_on
from advlens.engine.criteria import make_criterion
from advlens.engine.demo.broken import TEACHING_ROLE
from advlens.engine.diagnostics import DiagnosticsOptions, Fix, Level, RunDiagnosis, diagnose, diagnose_record
from advlens.engine.diagnostics.runs import diagnose_set
from advlens.engine.diagnostics.trajectory import progress_left, restart_segments, trajectory_indicators
from advlens.engine.loaders import bundled_models, load_model
from advlens.engine.model import Model, ModelCard
from advlens.engine.session import prepare_job, run_attack
from tests.conftest import demo_images

FAST = DiagnosticsOptions(noise_draws=8, cross_check_steps=15)


@pytest.fixture(scope="module")
def images():
    return demo_images(6, 32, offset=700)


@pytest.fixture(scope="module")
def quantized():
    return load_model("shapes-cnn-quantized", "cpu")


@pytest.fixture(scope="module")
def saturated():
    return load_model("shapes-cnn-saturated", "cpu")


def success_rate(model, x, y, config: AttackConfig) -> float:
    _, ok = run_attack_on(model, x, y, config)
    return float(ok.float().mean())


def fired(diagnosis: RunDiagnosis) -> dict[str, int]:
    return {name: n for name, n in diagnosis.counts().items() if n}


# ------------------------------------------------------------------------------------------ telemetry only
def constructed(margins: list[float], success: list[bool]) -> dict[str, np.ndarray]:
    m = np.asarray(margins, float)[:, None]
    return {"margin": m, "success": np.asarray(success, float)[:, None], "loss": -m,
            "l2": np.ones_like(m), "linf": np.ones_like(m)}


def test_silent_success_is_caught_on_a_constructed_run():
    config = AttackConfig(attack="pgd", steps=6)
    metrics = constructed([2.0, 1.0, -0.5, 0.3, 0.4, 0.4, 0.4], [False, False, True, False, False, False, False])
    (image,) = trajectory_indicators(metrics, config, final_adversarial=[False])
    silent = image["silent_success"]
    assert silent.level is Level.FAIL and silent.value == 2 and "step 2" in silent.sentence
    assert silent.fix.changes == {"early_stop": True}
    assert silent.fix.apply(config).early_stop
    # the same run, returning the adversarial iterate: nothing was lost
    (kept,) = trajectory_indicators(metrics, config, final_adversarial=[True])
    assert kept["silent_success"].level is Level.OK
    # a minimal-norm attack has no early stop: the fix is advice only
    (fmn,) = trajectory_indicators(metrics, AttackConfig(attack="fmn", norm="l2", steps=7), final_adversarial=[False])
    assert fmn["silent_success"].level is Level.FAIL and not fmn["silent_success"].fix.applicable


def test_incomplete_optimisation_reads_the_end_of_the_curve():
    falling = list(np.linspace(3.0, 0.5, 30))
    levelled = list(np.linspace(3.0, 0.5, 15)) + [0.5] * 15
    config = AttackConfig(attack="pgd", steps=29)
    assert progress_left(np.array(falling)) == pytest.approx(10 / 29)
    assert progress_left(np.array(levelled)) == 0.0
    (still,) = trajectory_indicators(constructed(falling, [False] * 30), config, [False])
    assert still["incomplete_optimisation"].level is Level.WARN
    # PGD's default step is 2.5·ε/steps: the fix keeps each step as long as it is now
    assert still["incomplete_optimisation"].fix.changes == {"steps": 116, "step_size": pytest.approx(2.5 * 8 / 255 / 29)}
    # a margin whose improvements shrink towards a limit above the boundary has levelled off for practical purposes
    slowing = [1.0 + 2.0 * 0.92**k for k in range(30)]
    (levelling,) = trajectory_indicators(constructed(slowing, [False] * 30), config, [False])
    assert levelling["incomplete_optimisation"].level is Level.OK and "levelling off" in levelling["incomplete_optimisation"].sentence
    (done,) = trajectory_indicators(constructed(levelled, [False] * 30), config, [False])
    assert done["incomplete_optimisation"].level is Level.OK
    # a step too small to reach the budget is named whatever the curve did
    tiny = replace(config, eps=8 / 255, step_size=0.1 / 255)
    (short,) = trajectory_indicators(constructed(levelled, [False] * 30), tiny, [False])
    assert short["incomplete_optimisation"].level is Level.FAIL
    assert short["incomplete_optimisation"].fix.changes["step_size"] == pytest.approx(2.5 * 8 / 255 / 29)


def test_live_telemetry_names_a_frozen_margin_before_the_run_ends():
    config = AttackConfig(attack="pgd", steps=20)
    (image,) = trajectory_indicators(constructed([1.5] * 8, [False] * 8), config, None, finished=False)
    assert image["gradients"].level is Level.WARN and "not changed" in image["gradients"].sentence
    assert image["silent_success"].level is Level.SKIPPED


@pytest.mark.parametrize("attack,norm", [("pgd", "linf"), ("apgd-ce", "linf"), ("fmn", "l2"), ("cw", "l2"),
                                         ("fgsm", "linf")])
def test_restart_boundaries_match_the_attacks_own_stage_labels(demo_model, attack, norm):
    x, y = demo_images(2, 16, offset=50)
    config = AttackConfig(attack=attack, norm=norm, eps=0.5 / 255, steps=3, restarts=2,
                          params={"binary_steps": 2} if attack == "cw" else {})
    run = AttackRun(make_attack(config), demo_model, x, make_criterion(y, None), torch.Generator().manual_seed(0))
    stages = [step.stage.rsplit("restart ", 1)[-1] for step in run]
    segments = restart_segments(config, len(stages))
    assert segments is not None and len(segments) == 2
    assert [set(stages[s]) for s in segments] == [{"1/2"}, {"2/2"}]


# ------------------------------------------------------------------------------------------ broken models
def test_the_broken_teaching_models_ship_with_the_demo_weights():
    names = {m.name: m for m in bundled_models()}
    for name in ("shapes-cnn-quantized", "shapes-cnn-saturated"):
        assert names[name].weights.name == "shapes-cnn.safetensors"
        assert "broken on purpose" in names[name].card.title and names[name].card.extra["role"] == TEACHING_ROLE
        assert names[name].card.clean_accuracy["32"] >= 0.95


def test_masked_gradients_fire_on_the_quantized_model_and_square_fools_it(quantized, images):
    x, y = images
    config = AttackConfig(attack="pgd", eps=8 / 255, steps=10)
    diagnosis, _, ok = diagnose_set(quantized, x, y, config, FAST)
    failed = int((~ok).sum())
    assert failed >= 5  # gradient attacks stand still on it
    assert fired(diagnosis)["gradients"] == failed
    gradients = next(i for i in diagnosis.fired() if i.name == "gradients")
    assert gradients.level is Level.FAIL and "non-differentiable" in gradients.sentence
    assert gradients.fix.changes["attack"] == "square" and "BPDA" in gradients.fix.advice
    before = float(ok.float().mean())
    after = success_rate(quantized, x, y, replace(gradients.fix.apply(config), steps=200))
    assert after >= before + 0.25


def test_saturated_softmax_fires_and_the_dlr_loss_fools_it(saturated, images):
    x, y = images
    config = AttackConfig(attack="pgd", eps=8 / 255, steps=10)
    diagnosis, _, ok = diagnose_set(saturated, x, y, config, FAST)
    assert float(ok.float().mean()) <= 0.1
    gradients = next(i for i in diagnosis.fired() if i.name == "gradients")
    assert "saturated" in gradients.sentence
    assert gradients.fix.changes["attack"] == "apgd-dlr"
    assert fired(diagnosis)["gradients"] == int((~ok).sum())
    # DeepFool, which reads the logits directly, fools images the cross-entropy could not move
    assert fired(diagnosis).get("cross_check", 0) >= 2
    after = success_rate(saturated, x, y, gradients.fix.apply(config))
    assert after >= float(ok.float().mean()) + 0.5


def test_no_indicator_fires_on_the_clean_demo_at_a_generous_budget(demo_model, images):
    x, y = images
    for config in (AttackConfig(attack="pgd", eps=16 / 255, steps=20),
                   AttackConfig(attack="fmn", norm="l2", steps=50)):
        diagnosis, _, ok = diagnose_set(demo_model, x, y, config, FAST)
        assert bool(ok.all())
        assert fired(diagnosis) == {}, diagnosis.lines()
        measured = {i.name for i in diagnosis.summary if i.level is not Level.SKIPPED}
        assert {"gradients", "unstable_predictions", "silent_success"} <= measured


# ------------------------------------------------------------------------------------------ minimal norm
class TangentBoundary(torch.nn.Module):
    """Two classes whose margin (t - w·x)^3 meets zero tangentially: its linearisation always lands short
    of the boundary (each step covers a third of the gap), so a minimal-norm attack creeps up to it, as on a
    random-weight ViT. DeepFool's 2% overshoot crosses; FMN's (its gamma, annealed) crosses within about
    ten steps, so with eight it is caught creeping."""

    def __init__(self, values: int, distance: float = 1.0):
        super().__init__()
        self.register_buffer("w", torch.full((values,), values ** -0.5))
        self.t = float(0.5 * self.w.sum()) + distance

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.flatten(1) @ self.w
        return torch.stack([(self.t - s) ** 3, torch.zeros_like(s)], dim=1)


def test_fmn_boundary_reached_but_not_crossed_is_caught_and_deepfool_crosses():
    model = Model(TangentBoundary(3 * 8 * 8), ModelCard(name="tangent", labels=["near", "far"]))
    x, y = torch.full((1, 3, 8, 8), 0.5), torch.tensor([0])
    config = AttackConfig(attack="fmn", norm="l2", steps=8)
    diagnosis, _, ok = diagnose_set(model, x, y, config, FAST)
    assert not bool(ok[0])
    found = {i.name: i for i in diagnosis.fired()}
    boundary = found["boundary_not_crossed"]
    assert boundary.level is Level.FAIL and 0 <= boundary.value < 1e-6
    assert found["cross_check"].level is Level.FAIL  # DeepFool fooled it where FMN found nothing
    fix = boundary.fix
    assert fix.changes["attack"] == "deepfool"
    assert success_rate(model, x, y, fix.apply(config)) == 1.0


# ------------------------------------------------------------------------------------------ records, sweeps
def test_a_record_is_diagnosed_and_the_diagnosis_travels_as_plain_data(saturated):
    record = run_attack(RunConfig(model="shapes-cnn-saturated", image="sample:star", resolution=32,
                                  attack=AttackConfig(attack="pgd", steps=10)), model=saturated)
    diagnosis = diagnose_record(record, saturated, FAST)
    again = RunDiagnosis.from_dict(json.loads(json.dumps(diagnosis.to_dict())))
    assert again.to_dict() == diagnosis.to_dict()
    assert [i.name for i in again.fired()][:1] == ["gradients"]
    assert any("APGD" in line for line in again.lines())


def test_a_fix_applies_as_a_new_config():
    config = AttackConfig(attack="cw", norm="l2", steps=20, params={"binary_steps": 5, "kappa": 0.5})
    longer = Fix("longer", {"steps": 100, "params": {"binary_steps": 9}}).apply(config)
    assert (longer.steps, longer.params) == (100, {"binary_steps": 9, "kappa": 0.5})
    other = Fix("other", {"attack": "deepfool"}).apply(config)
    assert other.attack == "deepfool" and other.params == {} and config.attack == "cw"


def test_the_sweep_counts_the_images_that_triggered_each_indicator(quantized, images):
    x, y = images
    curve = robust_accuracy_curve(quantized, x, y, AttackConfig(attack="pgd", steps=5), [0.0, 4 / 255, 8 / 255],
                                  diagnostics=FAST)
    assert [d["eps"] for d in curve.diagnostics] == curve.eps
    assert curve.diagnostics[0]["counts"] == {}
    for point, accuracy in zip(curve.diagnostics[1:], curve.accuracy[1:], strict=True):
        assert point["counts"]["gradients"] >= round(accuracy * len(y)) - 1
        assert point["fired"][0]["name"] == "gradients"
    assert json.loads(json.dumps(curve.to_dict()))["diagnostics"][2]["counts"]["gradients"] > 0


def test_the_indicator_logic_imports_without_torch():
    code = textwrap.dedent("""
        import sys
        from advlens.engine.diagnostics import indicators, trajectory, judge, labs
        from advlens.engine.diagnostics import RunDiagnosis, trajectory_indicators
        print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6')))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_nan_gradients_fail_with_a_gradient_free_fix(demo_model):
    class Broken(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x) + 0 * torch.sqrt(x - x.detach()).sum(dim=(1, 2, 3))[:, None]  # d sqrt(0) = inf: NaN

    model = Model(Broken(demo_model.network), demo_model.card)
    x, y = demo_images(1, 32, offset=3)
    job = prepare_job(RunConfig(attack=AttackConfig(attack="fgsm", eps=0.5 / 255)), model=model, image=x[0],
                      label=int(y[0]))
    from advlens.engine.diagnostics.probes import run_probes

    probes = run_probes(model, job.images, job.images, job.labels, job.config.attack, torch.tensor([False]), FAST)
    diagnosis = diagnose(constructed([1.0, 1.0], [False, False]), job.config.attack, [False], [False], [0.0], probes)
    gradients = diagnosis.images[0].get("gradients")
    assert gradients.level is Level.FAIL and gradients.value_text == "NaN/Inf" and math.isnan(gradients.value)
    assert gradients.fix.changes["attack"] == "square"


def test_transfer_failure_counts_surrogate_adversarials_that_do_not_fool_the_target(demo_model, images):
    from advlens.engine.analysis import transfer_table

    class Flipped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x.flip(-1).flip(-2))

    x, y = images
    flipped = Model(Flipped(demo_model.network), demo_model.card)
    table = transfer_table({"demo": demo_model, "flipped": flipped}, x, y, AttackConfig(attack="pgd", steps=10))
    (a_to_b, b_to_a) = table.diagnostics
    assert (a_to_b["source"], a_to_b["target"]) == ("demo", "flipped")
    fooled_source = round(table.success[0][0] * table.images)
    transferred = round(table.success[0][1] * table.images)
    assert 0 <= table.transfer_failures[0][1] <= fooled_source
    assert table.transfer_failures[0][1] >= fooled_source - transferred
    share = table.transfer_failures[0][1] / fooled_source
    assert a_to_b["level"] == ("warn" if share > 0.5 else "ok")
    assert b_to_a["name"] == "transfer_failure" and table.transfer_failures[1][1] == 0


def test_probe_indicators_explain_only_the_images_the_attack_failed_on():
    from advlens.engine.diagnostics.probes import ProbeResults

    # two images, DeepFool fooled both inside the budget and neither has a gradient; the attack fooled the first
    probes = ProbeResults("ce", gradient_finite=[True, True], gradient_coverage=[0.0, 0.0], gradient_norm=[0.0, 0.0],
                          margin_gradient_coverage=[0.0, 0.0], responds=[True, True], noise_change=[0.0, 0.0],
                          noise_flips=[0.0, 0.0], repeatable=[True, True], cross_ran=[True, True],
                          cross_success=[True, True], cross_norm=[1 / 255, 1 / 255])
    metrics = {"margin": np.array([[-1.0, 2.0], [-1.0, 2.0]]), "success": np.array([[1.0, 0.0], [1.0, 0.0]])}
    diagnosis = diagnose(metrics, AttackConfig(attack="pgd", steps=1), [True, False], [True, False], [0.0, 0.0], probes)
    first, second = diagnosis.images
    assert not first.fired()
    assert {i.name for i in second.fired()} == {"gradients", "cross_check"}
    assert diagnosis.counts()["cross_check"] == 1
