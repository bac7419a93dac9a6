"""The Explorer's banner says what happened, live and for an opened run, in the words of engine.outcome."""

from __future__ import annotations

import re

import pytest

from advlens.engine.outcome import describe_run, record_facts
from advlens.run_records import outcome_text

pytestmark = pytest.mark.gui

WAIT_MS = 120_000  # a bound for a stuck test, never a synchronisation


def _run_to_end(qtbot, window):
    with qtbot.waitSignal(window.state.runEnded, timeout=WAIT_MS) as blocker:
        window.run_action.trigger()
    return blocker.args[0]


def test_a_targeted_run_names_its_target_and_where_the_model_went(qtbot, main_window):
    w = main_window
    heart = w.state.model.labels.index("heart")
    w.controls.set_config({"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 10, "resolution": 32,
                           "seed": 0, "target": heart})
    record = _run_to_end(qtbot, w).record
    assert record.config.attack.target == heart
    text = w.banner.text()
    assert text == describe_run(record_facts(record))[0]
    assert "heart" in text and "the model held: star → " not in text
    adv = record.class_names[record.adv_pred[0]]
    if record.success[0]:
        assert text.startswith("TARGET REACHED — the model now sees heart: star → heart")
    elif adv != "star":
        assert text.startswith(f"TARGET MISSED — aimed at heart, the model went to {adv} instead")
        assert w.banner.property("tone") == "partial"
    else:
        assert text.startswith("TARGET MISSED — aimed at heart, the model held: still star")
    # opened again from its record, the run reads the same (after 'Loaded run of …')
    w.runs.open_run(w.state.last_record_path)
    assert text in w.banner.text() and w.banner.text().startswith("Loaded run of ")


def test_an_untargeted_failure_says_the_model_held(qtbot, main_window):
    w = main_window
    w.controls.set_config({"attack": "fgsm", "norm": "linf", "eps": 0.1 / 255, "resolution": 32, "seed": 0,
                           "target": None})
    record = _run_to_end(qtbot, w).record
    assert not record.success[0]
    assert w.banner.text().startswith("FAILED — the model held: still star")
    assert "star → star" not in w.banner.text() and w.banner.property("tone") == "fail"
    assert outcome_text(record)[0] == w.banner.text()


def test_paused_and_stopped_runs_say_so(qtbot, main_window):
    w = main_window
    w.controls.set_config({"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 5000, "resolution": 32,
                           "seed": 0, "target": None})
    w.step_action.trigger()  # a run that starts paused
    qtbot.waitUntil(lambda: re.match(r"PAUSED at step \d+/5000: ", w.banner.text()) is not None, timeout=WAIT_MS)
    assert w.state.run_state == "paused"
    w.state.resume()
    qtbot.waitUntil(lambda: re.match(r"Step \d+/5000: ", w.banner.text()) is not None, timeout=WAIT_MS)
    w.state.pause()  # no frame comes while paused: the banner says so at once
    assert w.banner.text().startswith("PAUSED at step ")
    with qtbot.waitSignal(w.state.runEnded, timeout=WAIT_MS) as blocker:
        w.stop_action.trigger()
    assert blocker.args[0].kind == "cancelled"
    assert w.banner.text().startswith("Stopped at step ") and "before the end" in w.banner.text()
