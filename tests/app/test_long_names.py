"""ImageNet's class names and long model names fit the layout: combo boxes elide, the top-5 axis wraps."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QScrollArea

from advlens.widgets.combo import ElidedComboBox
from advlens.widgets.prob_bars import ProbabilityBars

LONG_NAMES = ["tench", "German short-haired pointer", "sulphur-crested cockatoo", "Chesapeake Bay retriever",
              "American Staffordshire terrier", "Dandie Dinmont terrier, Dandie Dinmont, a very long class name"]


def test_long_class_and_model_names_keep_the_control_column_inside_its_scroll_area(qtbot, main_window):
    controls = main_window.controls
    controls.set_classes(LONG_NAMES * 200)
    controls.target.setCurrentIndex(len(LONG_NAMES) - 1)
    controls.model.addItem("a_checkpoint_with_a_really_long_file_name_from_somebody_s_experiments_v2.safetensors")
    controls.model.setCurrentIndex(controls.model.count() - 1)
    scroll = controls.parentWidget().parentWidget()
    assert isinstance(scroll, QScrollArea)
    qtbot.waitUntil(lambda: controls.width() <= scroll.viewport().width())
    assert controls.sizeHint().width() <= scroll.maximumWidth()
    assert not scroll.horizontalScrollBar().isVisible()
    assert controls.open_model.width() >= controls.open_model.sizeHint().width()  # "Open…", not "Ope"
    assert controls.target.displayed_text().endswith("…")
    assert LONG_NAMES[-1] in controls.target.toolTip()


def test_an_elided_box_shows_a_short_entry_whole_and_keeps_its_purpose_as_tooltip(qtbot):
    box = ElidedComboBox()
    qtbot.addWidget(box)
    box.addItems(["linf", "a name far too long for a box this narrow to show it all"])
    box.setToolTip("How perturbation size is measured.")
    box.resize(110, 28)
    box.show()
    assert box.displayed_text() == "linf"
    assert box.toolTip() == "How perturbation size is measured."
    box.setCurrentIndex(1)
    assert box.displayed_text().endswith("…") and len(box.displayed_text()) < 30
    assert box.toolTip().startswith("a name far too long")


def test_the_top5_axis_fits_its_names_when_wide_and_wraps_them_when_narrow(qtbot):
    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    bars.show()
    probs = np.array([0.4, 0.3, 0.2, 0.05, 0.01])
    for width, names in ((700, LONG_NAMES[:5]), (240, LONG_NAMES[1:])):
        bars.resize(width, 220)
        qtbot.waitUntil(lambda w=width: bars.width() == w)
        bars.set_probabilities(names, probs, true_label="tench")
        qtbot.waitUntil(lambda w=width: bars.axis.width() <= 0.5 * w)  # the plot's layout applies the new width
        if width == 700:
            assert bars.shown_labels == names
        else:
            assert any("\n" in shown for shown in bars.shown_labels)
            for name, shown in zip(names, bars.shown_labels, strict=True):
                assert shown.replace("\n", " ") == name or shown.endswith("…")
                assert len(shown.split("\n")) <= 2
