"""The banner's wording (engine.outcome.describe_run) for every kind of run, and a record worded like a live run."""

from __future__ import annotations

import numpy as np
import pytest

from advlens.engine.config import AttackConfig, RunConfig
from advlens.engine.outcome import RunFacts, describe_run, record_facts
from advlens.engine.record import RunRecord

NORMS = {"l2": 0.412, "linf": 8 / 255, "l0": 300, "l1": 20.0}


def facts(**changes) -> RunFacts:
    base = dict(state="finished", clean="star", adversarial="cross", confidence=0.93, success=True, attack="PGD",
                norm="linf", budget="8/255", norms=NORMS, step=20, total_steps=20)
    return RunFacts(**{**base, **changes})


def test_untargeted_success_names_both_classes():
    text, tone = describe_run(facts())
    assert text.startswith("SUCCESS — the model is fooled: star → cross (93%)")
    assert "PGD Linf ε=8/255" in text and "L2 0.412" in text and "Linf 8.00/255" in text
    assert tone == "success"


def test_untargeted_failure_says_the_model_held_and_never_star_to_star():
    text, tone = describe_run(facts(adversarial="star", confidence=0.88, success=False))
    assert text.startswith("FAILED — the model held: still star (88%)")
    assert "star → star" not in text
    assert tone == "fail"


def test_targeted_reached_names_the_target():
    text, tone = describe_run(facts(adversarial="heart", target="heart", confidence=0.71))
    assert text.startswith("TARGET REACHED — the model now sees heart: star → heart (71%)")
    assert tone == "success"


def test_targeted_missed_names_the_target_and_where_the_model_went():
    text, tone = describe_run(facts(target="heart", success=False))
    assert text.startswith("TARGET MISSED — aimed at heart, the model went to cross instead: star → cross (93%)")
    assert "FAILED — the model held" not in text and tone == "partial"


def test_targeted_missed_where_the_model_held():
    text, tone = describe_run(facts(target="heart", adversarial="star", success=False))
    assert text.startswith("TARGET MISSED — aimed at heart, the model held: still star") and tone == "fail"


def test_minimal_norm_found_gives_the_norm_found():
    text, tone = describe_run(facts(minimal=True, attack="FMN", norm="l2", budget=""))
    assert text.startswith("FOUND — an L2 perturbation of 0.412 fools the model: star → cross")
    assert "FMN minimal L2" in text and "ε=" not in text and tone == "success"
    linf, _ = describe_run(facts(minimal=True, attack="FMN", norm="linf"))
    assert "Linf perturbation of 8.00/255" in linf


def test_minimal_norm_not_found():
    text, tone = describe_run(facts(minimal=True, attack="FMN", norm="l2", adversarial="star", success=False, step=100))
    assert text.startswith("NOT FOUND — no L2 perturbation fooled the model in 100 steps: still star")
    assert tone == "fail"
    targeted, _ = describe_run(facts(minimal=True, norm="l2", target="heart", success=False))
    assert "reached the target heart" in targeted and targeted.startswith("NOT FOUND")


@pytest.mark.parametrize("state, head", [("running", "Step 7/20: "), ("paused", "PAUSED at step 7/20: "),
                                         ("cancelled", "Stopped at step 7/20, before the end: ")])
def test_runs_that_have_not_ended_say_where_they_are(state, head):
    text, tone = describe_run(facts(state=state, step=7, success=False, adversarial="star"))
    assert text.startswith(head + "still star (93%) — model holding") and tone == ""
    fooled, _ = describe_run(facts(state=state, step=7))
    assert "star → cross (93%) — model FOOLED" in fooled
    aiming, _ = describe_run(facts(state=state, step=7, target="heart", success=False))
    assert "aiming at heart, at cross for now" in aiming


def test_failed_run_gives_its_reason():
    text, tone = describe_run(RunFacts(state="failed", message="CUDA out of memory"))
    assert text == "Attack stopped by an error: CUDA out of memory" and tone == "bad"


def test_caveat_is_said():
    text, _ = describe_run(facts(caveat="random weights"))
    assert text.endswith("model with random weights")


def _record(target: int | None, adv_pred: int, success: bool, attack: str = "pgd", norm: str = "linf",
            status: str = "finished") -> RunRecord:
    names = ["circle", "star", "cross", "heart"]
    image = np.zeros((1, 3, 8, 8), dtype=np.float32)
    config = RunConfig(attack=AttackConfig(attack=attack, norm=norm, eps=8 / 255 if norm == "linf" else 0.5,
                                           target=target))
    return RunRecord(config=config, model_name="demo", class_names=names, device="cpu", labels=[1], clean_pred=[1],
                     clean_conf=[0.99], adv_pred=[adv_pred], adv_conf=[0.9], success=[success],
                     norms={"l2": [0.3], "linf": [8 / 255], "l0": [10.0], "l1": [2.0]}, status=status, steps_run=12,
                     duration_s=0.1, original=image, adversarial=image + 0.01)


def test_a_record_is_worded_like_a_live_run():
    missed = describe_run(record_facts(_record(target=3, adv_pred=2, success=False)))[0]
    assert missed.startswith("TARGET MISSED — aimed at heart, the model went to cross instead: star → cross (90%)")
    held = describe_run(record_facts(_record(target=None, adv_pred=1, success=False)))[0]
    assert held.startswith("FAILED — the model held: still star (90%)")
    found = describe_run(record_facts(_record(target=None, adv_pred=2, success=True, attack="fmn", norm="l2")))[0]
    assert found.startswith("FOUND — an L2 perturbation of 0.300 fools the model") and "minimal L2" in found
    stopped = describe_run(record_facts(_record(target=None, adv_pred=2, success=True, status="cancelled")))[0]
    assert stopped.startswith("Stopped at step 12/20, before the end: star → cross (90%)")
