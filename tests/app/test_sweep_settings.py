"""Settings ▸ Sweep scheduler: the field is checked, remembered, and travels in every sweep request as plain data."""

from __future__ import annotations

import pytest

from advlens.engine.schedulers import ENV_VAR

pytestmark = pytest.mark.gui


def test_a_bad_scheduler_is_said_in_the_dialog_which_stays_open_and_a_good_one_is_remembered(qtbot, tmp_path,
                                                                                             monkeypatch):
    monkeypatch.setenv("ADVLENS_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv(ENV_VAR, "local:3")
    from advlens.sweep_settings import SchedulerDialog, sweep_scheduler

    assert sweep_scheduler() == "local:3"  # nothing chosen yet: the environment's
    dialog = SchedulerDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.field.text() == "local:3"
    dialog.field.setText("dask://nowhere")
    dialog.buttons.accepted.emit()
    assert dialog.isVisible() and "unknown scheduler" in dialog.error.text()
    assert sweep_scheduler() == "local:3"
    dialog.field.setText(" tcp://127.0.0.1:8786 ")
    dialog.buttons.accepted.emit()
    assert not dialog.isVisible() and dialog.result() == dialog.DialogCode.Accepted
    assert sweep_scheduler() == "tcp://127.0.0.1:8786"  # remembered: it now wins over the environment


def test_the_analysis_and_resolution_requests_carry_the_chosen_scheduler(main_window, monkeypatch):
    from advlens.sweep_settings import set_sweep_scheduler

    w = main_window
    assert w.scheduler_action.text().startswith("Sweep")
    set_sweep_scheduler("local:2")
    request = w.analysis_state.request("sweep", {"count": 6, "resolution": 16, "eps_range": "0:8:4/255"})
    assert request.scheduler == "local:2"
    assert request.to_dict()["scheduler"] == "local:2"  # plain data, as it goes to the engine
    launched = []
    monkeypatch.setattr(type(w.resolution_state), "launch", lambda self, job: launched.append(job))
    assert w.resolution_state.start({"images": "demo:4", "resolutions": "16,32", "attack": "fmn", "steps": 5,
                                     "condition": "native"})
    assert launched and launched[0].scheduler == "local:2"
