"""A colour bar's unit is never clipped: centred under the bar, and the fullest wording that fits its width."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

pytestmark = pytest.mark.gui

UNITS = ("Δ (/255) · full at ±ε", "Δ /255 · full ±ε", "Δ /255 · ±ε", "Δ (/255)")


@pytest.fixture
def pane_at(qtbot):
    from advlens.widgets import plot_style
    from advlens.widgets.image_pane import DIVERGING_MAP, ImagePane

    style = plot_style.current_style()
    before = (style.background, style.foreground, style.scale)

    def make(width: int, scale: float) -> ImagePane:
        plot_style.set_plot_style(style.background, style.foreground, scale)
        pane = ImagePane("Perturbation", colormap=DIVERGING_MAP, colorbar=True, unit="Δ (/255)")
        qtbot.addWidget(pane)
        pane.resize(width, 320)
        pane.show()
        pane.set_scalar(np.linspace(-8, 8, 32 * 32, dtype=np.float32).reshape(32, 32), (-8.0, 8.0))
        plot_style.restyle_plots(pane)
        pane.set_unit(UNITS)
        qtbot.waitUntil(lambda: pane.graphics.width() >= width - 10, timeout=5000)
        QApplication.processEvents()
        return pane

    yield make
    plot_style.set_plot_style(*before)


def _inside(pane) -> bool:
    axis = pane.colorbar.axis
    label = axis.label
    left = label.pos().x()
    return left >= -1 and left + label.boundingRect().width() <= axis.width() + 1


@pytest.mark.parametrize("width, scale", [(260, 1.0), (200, 1.6), (150, 1.6), (200, 2.0)])
def test_the_unit_fits_under_its_bar_at_any_size(pane_at, width, scale):
    pane = pane_at(width, scale)
    assert pane.unit_shown in UNITS and _inside(pane), (pane.unit_shown, pane.colorbar.axis.label.pos())
    assert pane.colorbar.toolTip() == UNITS[0]  # the whole wording, always one hover away


def test_a_wide_pane_says_it_all_and_a_narrow_one_says_less(pane_at):
    assert pane_at(300, 1.0).unit_shown == UNITS[0]
    assert pane_at(150, 1.6).unit_shown != UNITS[0]


def test_a_longer_unit_set_later_is_centred_again(pane_at):
    pane = pane_at(300, 1.0)
    pane.set_unit("Δ (/255)")
    pane.set_unit("a much longer unit · full at ±ε")
    axis = pane.colorbar.axis
    centre = axis.label.pos().x() + axis.label.boundingRect().width() / 2
    assert abs(centre - axis.width() / 2) <= 2 and _inside(pane)
