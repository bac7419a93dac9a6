"""The Explorer with a real timm model, offscreen: the random-weights caveat wherever the model is shown.

The model lives in the engine process; the window learns of its notes as plain data (ModelInfo.caveat).
"""

from __future__ import annotations

import pytest

pytest.importorskip("timm")
pytest.importorskip("pytestqt")

from tests.app.conftest import READY_MS, engine_link, main_window  # noqa: E402,F401  (the real window fixtures)


def test_random_weights_show_on_the_model_box_and_the_banner_before_and_after_a_run(qtbot, main_window):  # noqa: F811
    w = main_window
    view = w.explorer
    with qtbot.waitSignal(w.state.notice, timeout=READY_MS) as notice:
        assert w.state.load_model("timm:resnet18")
    assert "RANDOM weights (seed 0" in notice.args[1]
    qtbot.waitUntil(lambda: w.state.model.spec == "timm:resnet18" and w.state.prediction is not None
                    and w.state.input is not None and w.state.input.shape[0] == 224, timeout=READY_MS)
    assert w.state.model.caveat == "random weights" and w.state.config.resolution == 224
    assert "(random weights)" in view.controls.model.currentText()
    assert view.controls.model_caveat.isVisible() and "random weights" in view.controls.model_caveat.text()
    qtbot.waitUntil(lambda: "random weights" in view.banner.text(), timeout=10000)
    w.state.set_settings({"attack": "fgsm", "norm": "linf", "eps": 2 / 255})
    with qtbot.waitSignal(w.state.runEnded, timeout=120000) as ended:
        assert w.state.start()
    assert ended.args[0].kind == "finished"
    qtbot.waitUntil(lambda: "FAILED" in view.banner.text() or "SUCCESS" in view.banner.text(), timeout=10000)
    assert "model with random weights" in view.banner.text()
