"""The Diagnostics strip: a light per indicator, worst first; the fix button asks for the fix; the comparison
shows both runs. Fed with plain dicts, as the app feeds it."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from advlens.widgets.diagnostics_strip import DiagnosticsStrip  # noqa: E402

FIX = {"title": "Use APGD with the scale-free DLR loss", "changes": {"attack": "apgd-dlr", "steps": 20},
       "advice": "The DLR loss divides logit differences by their spread."}
DIAGNOSIS = {
    "attack": "pgd", "norm": "linf", "level": "fail", "counts": {"gradients": 1}, "notes": [],
    "summary": [
        {"name": "incomplete_optimisation", "title": "Incomplete optimisation", "level": "ok", "value": 0.0,
         "value_text": "", "sentence": "the margin had levelled off by the end", "fix": None},
        {"name": "gradients", "title": "Unavailable gradients", "level": "fail", "value": 0.0,
         "value_text": "0% nonzero (CE)", "sentence": "the cross-entropy's gradient is exactly zero", "fix": FIX},
        {"name": "cross_check", "title": "Another attack did better", "level": "warn", "value": 0.02,
         "value_text": "DeepFool Linf 7/255", "sentence": "DeepFool fooled this image inside the budget",
         "fix": {"title": "Check the weights", "changes": {}, "advice": "advice only"}},
        {"name": "restarts", "title": "Non-converging restarts", "level": "skipped", "value": None,
         "value_text": "", "sentence": "one run: no restarts to compare", "fix": None},
    ],
}


@pytest.fixture
def strip(qtbot):
    widget = DiagnosticsStrip()
    qtbot.addWidget(widget)
    widget.resize(340, 600)
    widget.show()
    return widget


def test_lights_show_worst_first_with_sentence_and_fix_for_what_fired(strip):
    strip.set_diagnosis(DIAGNOSIS)
    assert strip.shown_order() == ["gradients", "cross_check", "incomplete_optimisation", "restarts"]
    assert [strip.light_of(n) for n in strip.shown_order()] == ["fail", "warn", "ok", "skipped"]
    row = strip.rows["gradients"]
    assert row.value.text() == "0% nonzero (CE)" and not row.sentence.isHidden()
    assert "APGD" in row.fix.text() and not row.apply.isHidden()
    # advice without a change of settings has no button; a green light keeps its sentence in the tooltip
    assert strip.rows["cross_check"].apply.isHidden() and not strip.rows["cross_check"].fix.isHidden()
    assert strip.rows["incomplete_optimisation"].sentence.isHidden()
    assert "levelled off" in strip.rows["incomplete_optimisation"].toolTip()
    assert strip.status.text().startswith("2 of 3 indicators fired")


def test_apply_fix_asks_for_the_fix_and_the_comparison_shows_both_runs(strip, qtbot):
    strip.set_diagnosis(DIAGNOSIS)
    with qtbot.waitSignal(strip.fixRequested, timeout=2000) as signal:
        strip.rows["gradients"].apply.click()
    assert signal.args[0]["changes"] == {"attack": "apgd-dlr", "steps": 20}
    assert signal.args[0]["indicator"] == "gradients"
    strip.set_comparison([("attack", "PGD Linf 8/255, 20 steps", "APGD-DLR Linf 8/255, 20 steps"),
                          ("outcome", "not fooled: star", "fooled: star → heart")])
    assert not strip.comparison.isHidden()
    texts = strip.comparison_texts()
    assert "fooled: star → heart" in texts and "not fooled: star" in texts
    # a second comparison reuses the cells: nothing of the first is left on screen
    strip.set_comparison([("outcome", "a", "b")])
    assert strip.comparison_texts() == ["", "<b>Before</b>", "<b>After</b>", "outcome", "a", "b"]
    strip.set_comparison(None)
    assert strip.comparison.isHidden()


def test_live_updates_reuse_the_rows_and_an_empty_diagnosis_clears(strip):
    strip.set_diagnosis(DIAGNOSIS, live=True)
    first = strip.rows["gradients"]
    assert "so far" in strip.status.text()
    strip.set_diagnosis(DIAGNOSIS)
    assert strip.rows["gradients"] is first and "so far" not in strip.status.text()
    strip.set_diagnosis(None)
    assert strip.light_of("gradients") == "" and "Run an attack" in strip.status.text()
