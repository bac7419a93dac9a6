"""The Explorer's Diagnostics strip, driven as a person would: a run on a broken model lights the
matching indicator, Apply fix runs the fix and both outcomes show side by side."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui

WAIT_MS = 180_000  # a bound for a stuck test, never a synchronisation


def _run_to_end(qtbot, window):
    with qtbot.waitSignal(window.state.runEnded, timeout=WAIT_MS) as blocker:
        window.run_action.trigger()
    return blocker.args[0]


def _load(qtbot, window, name: str) -> None:
    """Load a bundled model in the engine and wait until its clean prediction is shown."""
    from tests.app.conftest import wait_until_ready

    with qtbot.waitSignal(window.state.modelChanged, timeout=WAIT_MS):
        assert window.state.load_model(name)
    wait_until_ready(qtbot, window)


def _diagnosed(qtbot, window):
    qtbot.waitUntil(lambda: not window.diagnostics_state.busy and window.diagnostics_state.diagnosis is not None
                    and window.diagnostics.status.text().startswith(("None of", "1 of", "2 of", "3 of", "4 of")),
                    timeout=WAIT_MS)


def test_saturated_model_lights_gradients_and_the_fix_fools_it_side_by_side(qtbot, main_window):
    w = main_window
    _load(qtbot, w, "shapes-cnn-saturated")
    w.controls.set_config({"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 10, "resolution": 32})
    event = _run_to_end(qtbot, w)
    assert event.kind == "finished" and not event.record.success[0]
    _diagnosed(qtbot, w)
    strip = w.diagnostics
    assert strip.light_of("gradients") == "fail" and strip.shown_order()[0] == "gradients"
    row = strip.rows["gradients"]
    assert "saturated" in row.sentence.text() and "APGD" in row.fix.text() and row.apply.isVisible()

    with qtbot.waitSignal(w.state.runEnded, timeout=WAIT_MS) as fixed:
        row.apply.click()
    assert fixed.args[0].record.config.attack.attack == "apgd-dlr" and fixed.args[0].record.success[0]
    assert w.controls.config()["attack"] == "apgd-dlr"  # the controls show the settings that ran
    _diagnosed(qtbot, w)
    qtbot.waitUntil(lambda: not strip.comparison.isHidden(), timeout=WAIT_MS)
    cells = strip.comparison_texts()
    assert any(c.startswith("not fooled") for c in cells) and any(c.startswith("fooled: star") for c in cells)
    assert any(c.startswith("PGD") for c in cells) and any(c.startswith("APGD-DLR") for c in cells)
    assert "Unavailable gradients" in cells and "running…" not in cells
    # a run of its own ends the comparison
    _run_to_end(qtbot, w)
    assert strip.comparison.isHidden()


def test_the_clean_demo_at_a_generous_budget_lights_nothing(qtbot, main_window):
    w = main_window
    w.controls.set_config({"attack": "pgd", "norm": "linf", "eps": 16 / 255, "steps": 20, "resolution": 32})
    assert _run_to_end(qtbot, w).record.success[0]
    _diagnosed(qtbot, w)
    assert w.diagnostics.status.text().startswith("None of")
    assert not any(w.diagnostics.light_of(n) in ("fail", "warn") for n in w.diagnostics.rows)


def test_a_frozen_margin_lights_amber_live_while_stepping(qtbot, main_window):
    w = main_window
    _load(qtbot, w, "shapes-cnn-quantized")
    w.controls.set_config({"attack": "pgd", "norm": "linf", "eps": 8 / 255, "steps": 50, "resolution": 32})
    for _ in range(8):  # step by step: each step is one frame
        with qtbot.waitSignal(w.state.frameReady, timeout=WAIT_MS):
            w.step_action.trigger()
    qtbot.waitUntil(lambda: w.diagnostics.light_of("gradients") == "warn", timeout=WAIT_MS)
    assert "not changed" in w.diagnostics.rows["gradients"].sentence.text()
    assert "so far" in w.diagnostics.status.text()
    with qtbot.waitSignal(w.state.runEnded, timeout=WAIT_MS):
        w.stop_action.trigger()
