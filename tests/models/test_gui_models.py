"""The Explorer with a real timm model, offscreen: the random-weights caveat wherever the model is shown."""

from __future__ import annotations

import pytest

pytest.importorskip("timm")
pytest.importorskip("pytestqt")

from tests.app.conftest import main_window  # noqa: E402,F401  (the real window fixture)


def test_random_weights_show_on_the_model_box_and_the_banner_before_and_after_a_run(qtbot, main_window):  # noqa: F811
    w = main_window
    with qtbot.waitSignal(w.state.notice) as notice:
        assert w.state.load_model("timm:resnet18")
    assert "RANDOM weights (seed 0" in notice.args[1]
    assert "(random weights)" in w.controls.model.currentText()
    assert w.controls.model_caveat.isVisible() and "random weights" in w.controls.model_caveat.text()
    assert w.state.config.resolution == 224 and w.state.current_input().shape[-1] == 224
    qtbot.waitUntil(lambda: "random weights" in w.banner.text(), timeout=10000)
    w.state.set_settings({"attack": "fgsm", "norm": "linf", "eps": 2 / 255})
    with qtbot.waitSignal(w.state.runEnded, timeout=120000) as ended:
        assert w.state.start()
    assert ended.args[0].kind == "finished"
    qtbot.waitUntil(lambda: "FAILED" in w.banner.text() or "SUCCESS" in w.banner.text(), timeout=10000)
    assert "model with random weights" in w.banner.text()
