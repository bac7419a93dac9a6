"""Issue 12, point 9: a task's progress line never reads '0/0', nor 'working…' once it has ended."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.gui


def test_a_stopped_task_says_how_far_it_got_and_never_zero_of_zero(qtbot):
    from advlens.widgets.task_progress import TaskProgress

    task = TaskProgress("stop", "images")
    qtbot.addWidget(task)
    task.set_busy(True)
    task.set_progress(0, 0, None)  # a task that does not count its pieces, then cancelled
    task.stop("cancelled")
    assert task.eta.text() == "cancelled" and not task.cancel.isEnabled()
    task.set_busy(True)
    task.set_progress(3, 10, 4.0)
    task.stop("cancelled")
    assert task.eta.text() == "cancelled at 3/10 images"  # no time left on a task that is over
    task.set_busy(True)
    task.stop()  # failed before it reported anything: not the last task's 3/10
    assert task.eta.text() == "stopped"
    task.stop("cancelled")  # no task under way (refused before it started): nothing changes
    assert task.eta.text() == "stopped"
    task.set_busy(True)
    task.finish()  # finished without a report: not the 10 pieces of the task before
    assert task.eta.text() == "done" and task.bar.value() == task.bar.maximum()


@pytest.mark.parametrize("tab", ["analysis", "resolution", "stability"])
@pytest.mark.parametrize("message, word", [("cancelled: what finished stays", "cancelled"),
                                           ("CUDA out of memory", "stopped")])
def test_a_tab_whose_task_ends_without_a_result_never_shows_zero_of_zero(qtbot, main_window, tab, message, word):
    w = main_window
    panel, state = getattr(w, f"{tab}_panel"), getattr(w, f"{tab}_state")
    panel.set_busy(True)
    extra = ("training",) if tab == "stability" else ()
    state.progressed.emit(0, 0, None, *extra)  # a task that counts nothing (an analysis with no jobs)
    assert panel.task.eta.text() == "working…"
    state.failed.emit(message)
    assert panel.task.eta.text() == word and panel.task.cancel.isEnabled() is False
    panel.set_busy(True)
    state.progressed.emit(2, 5, 9.0, *extra)
    state.failed.emit(message)
    assert panel.task.eta.text().startswith(f"{word} at 2/5") and "left" not in panel.task.eta.text()


def test_a_finished_stability_run_shows_its_own_count(qtbot, main_window):
    w = main_window
    panel, state = w.stability_panel, w.stability_state
    panel.set_busy(True)
    state.progressed.emit(240, 240, 0.0, "measuring")
    state.finished.emit(SimpleNamespace(rows=[], headline="Done.", summary="Done. Details.", seconds=12.0))
    assert panel.task.eta.text() == "done: 240/240 work units" and panel.stage.text() == "finished in 12 s"
    panel.set_busy(True)
    state.progressed.emit(0, 0, None, "")
    state.finished.emit(SimpleNamespace(rows=[], headline="Done.", summary="Done.", seconds=1.0))
    assert panel.task.eta.text() == "done"
