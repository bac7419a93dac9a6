"""The model box's caveat line: shown in full under the box while the chosen model has random weights."""

from __future__ import annotations

from advlens.widgets.controls import AttackControls


def test_the_caveat_line_says_random_weights_in_full_and_goes_when_it_no_longer_applies(qtbot):
    controls = AttackControls()
    qtbot.addWidget(controls)
    controls.resize(300, 700)
    controls.show()
    models = [("torchvision:resnet18", "torchvision:resnet18 (random weights)"), ("demo", "Shapes CNN")]
    controls.set_models(models, "torchvision:resnet18", "random weights")
    assert controls.model_caveat.isVisible()
    assert "random weights" in controls.model_caveat.text()
    assert controls.model.currentData() == "torchvision:resnet18"
    controls.set_models(models, "demo")
    assert not controls.model_caveat.isVisible()
    assert controls.model.currentText() == "Shapes CNN"
