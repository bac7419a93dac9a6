"""File ▸ Save/Open session, the last session restored at start, and Settings ▸ Reset settings."""

from __future__ import annotations

import json
import os

import pytest

from advlens.engine.config import AttackConfig, RunConfig
from advlens.session_file import MAX_SESSION_BYTES, Session, SessionError, load_session, save_session
from advlens.tab_settings import AnalysisSettings, ResolutionSettings, StabilitySettings

WAIT = 180_000  # ms: a bound for a stuck test, never a synchronisation


def session_text(**changes) -> str:
    data = json.loads(Session(RunConfig(attack=AttackConfig(attack="fgsm", eps=4 / 255)), "analysis",
                              AnalysisSettings(), ResolutionSettings(), StabilitySettings()).to_json())
    for path, value in changes.items():
        node = data
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    return json.dumps(data)


# ---------------------------------------------------------------------------------------- the file format
def test_a_session_round_trips_through_its_json(tmp_path):
    session = Session(RunConfig(model="shapes-cnn-r32", image="sample:heart", resolution=32,
                                attack=AttackConfig(attack="pgd", norm="l2", eps=0.75, steps=33, target=2, seed=9,
                                                    early_stop=True, restarts=2)), "resolution")
    path = save_session(session, tmp_path / "s.json")
    assert load_session(path) == session
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # the temp file was renamed, none is left


@pytest.mark.parametrize("text, says", [
    ("", "not JSON"),
    ("{\"format\": \"advlens-session\"", "not JSON"),
    ("[" * 200_000, "not JSON"),  # nested beyond the parser's recursion limit
    ("[1, 2]", "not an AdvLens session"),
    ("{\"format\": \"something-else\", \"version\": 1}", "not an AdvLens session"),
    (session_text(version=99), "session format 99"),
    (session_text(tab="../../etc"), "'tab' must be one of"),
    (session_text(**{"config.attack.attack": "__import__('os').system('x')"}), "unknown attack"),
    (session_text(**{"config.attack.eps": float("inf")}), "'eps' must be"),
    (session_text(**{"config.attack.steps": -4}), "'steps' must be"),
    (session_text(**{"config.resolution": 10**12}), "'resolution' must be"),
    (session_text(**{"config.fast": "yes"}), "'fast' must be true or false"),
    (session_text(**{"config.precision": "fp8"}), "'precision' must be one of"),
    (session_text(**{"config.model": {"__class__": "x"}}), "'model' must be text"),
    (session_text(**{"config.attack.params": {"decay": "x"}}), "params"),
    (session_text(**{"config.extra": 1}), "unknown run settings"),
    (session_text(analysis=[1]), "'analysis' must be an object"),
    (session_text(**{"analysis.count": 0}), "'analysis.count' must be between 1 and 5000"),
    (session_text(**{"analysis.resolution": 33}), "'analysis.resolution' must be one of"),
    (session_text(**{"analysis.minimal_attack": "os.system"}), "'analysis.minimal_attack' must be one of"),
    (session_text(**{"analysis.eps_range": "1e999:x"}), "'analysis.eps_range'"),
    (session_text(**{"analysis.unchecked": [{"a": 1}]}), "'analysis.unchecked' must be a list"),
    (session_text(**{"analysis.run": "now"}), "unknown analysis settings: run"),
    (session_text(**{"resolution.attack": "cw"}), "'resolution.attack' must be one of"),
    (session_text(**{"resolution.steps": 10**9}), "'resolution.steps' must be between"),
    (session_text(**{"resolution.resolutions": "16"}), "'resolution.resolutions'"),
    (session_text(**{"resolution.resolutions": "16,x"}), "'resolution.resolutions' must be whole numbers"),
    (session_text(**{"resolution.left_metric": "linf"}), "'resolution.left_metric' must be one of"),
    (session_text(**{"stability.width": 5000}), "'stability.width' must be between 1 and 1024"),
    (session_text(**{"stability.seeds": True}), "'stability.seeds' must not be true or false"),
    (session_text(**{"stability.learning_rate": float("nan")}), "'stability.learning_rate' must be a finite"),
    (session_text(**{"stability.learning_rate": "0.1"}), "'stability.learning_rate' must be a finite"),
    (session_text(**{"stability.stripes": "1,2"}), "stripes K must be between 2 and 4096"),
    (session_text(**{"stability.dims": "a,b"}), "dimensions d: expected whole numbers"),
    (session_text(**{"stability.norm": "l1"}), "'stability.norm' must be one of"),
])
def test_a_damaged_or_hostile_session_is_one_line(tmp_path, text, says):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SessionError) as caught:
        load_session(path)
    message = str(caught.value)
    assert says in message and "\n" not in message and message.startswith("bad.json")


def test_the_tabs_settings_round_trip_and_an_old_session_still_opens(tmp_path):
    session = Session(RunConfig(), "stability",
                      AnalysisSettings(source="folder", count=9, folder=str(tmp_path), resolution=64,
                                       eps_range="0:8:2/255", minimal_attack="cw", minimal_norm="linf",
                                       unchecked=["bundled:demo-wide"]),
                      ResolutionSettings(images="sample:heart", resolutions="16,32", attack="deepfool", steps=40,
                                         condition="nearest-upsampled", models="per-resolution",
                                         left_metric="margin_grad_l1"),
                      StabilitySettings(stripes="2:16", dims="2,8", train_points=300, test_points=200, width=8,
                                        depth=3, seeds=2, train_steps=500, learning_rate=0.005, norm="linf",
                                        sweep="points", point_counts="100,200", points_stripes=8))
    path = save_session(session, tmp_path / "s.json")
    assert json.loads(path.read_text())["version"] == 2
    assert load_session(path) == session
    old = json.loads(path.read_text())
    for key in ("analysis", "resolution", "stability"):
        del old[key]
    old["version"] = 1
    path.write_text(json.dumps(old))
    opened = load_session(path)
    assert (opened.analysis, opened.resolution, opened.stability) == (None, None, None)
    assert opened.tab == "stability"
    partial = json.loads(session_text())
    partial["stability"] = {"width": 64}  # a field missing from a tab keeps that field's default
    path.write_text(json.dumps(partial))
    assert load_session(path).stability == StabilitySettings(width=64)


def test_a_session_that_is_not_a_small_regular_file_is_refused(tmp_path):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_SESSION_BYTES + 1))
    with pytest.raises(SessionError, match="MB is more than"):
        load_session(big)
    with pytest.raises(SessionError, match="is a folder"):
        load_session(tmp_path)
    with pytest.raises(SessionError, match="no such file"):
        load_session(tmp_path / "gone.json")
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(SessionError, match="named pipe"):
        load_session(fifo)  # would block a plain open() forever
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SessionError, match="not a text file"):
        load_session(tmp_path / "binary.json")


def test_a_failed_write_leaves_the_old_session(tmp_path, monkeypatch):
    path = save_session(Session(), tmp_path / "s.json")
    before = path.read_bytes()

    def crash(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_session(Session(tab="stability"), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


# ---------------------------------------------------------------------------------------- in the window
def _ready(window) -> bool:
    state = window.state
    return state.model is not None and not state.library.loading and state.input_ready


def test_save_then_open_restores_model_image_settings_and_tab(qtbot, main_window, tmp_path):
    w = main_window
    w.state.load_image("sample:heart")
    qtbot.waitUntil(lambda: w.state.image_key == "sample:heart" and _ready(w), timeout=WAIT)
    w.controls.set_config({"attack": "bim", "norm": "l2", "eps": 0.75, "steps": 33, "seed": 9, "restarts": 2,
                           "early_stop": True, "random_start": False, "target": 2, "resolution": 48})
    qtbot.waitUntil(lambda: _ready(w), timeout=WAIT)
    w.tabs.setCurrentIndex(1)  # Analysis
    path = tmp_path / "lecture.json"
    assert w.sessions.save(path)
    saved = json.loads(path.read_text())
    assert saved["tab"] == "analysis" and saved["config"]["attack"]["attack"] == "bim"

    # everything changes: another model, image, settings and tab
    w.tabs.setCurrentIndex(0)
    w.state.load_model("shapes-cnn-r32")
    w.state.load_image("sample:circle")
    qtbot.waitUntil(lambda: w.state.config.model == "shapes-cnn-r32" and w.state.image_key == "sample:circle"
                    and _ready(w), timeout=WAIT)
    w.controls.set_config({"attack": "fgsm", "norm": "linf", "eps": 2 / 255, "target": None, "resolution": 64})

    assert w.sessions.open(path)
    qtbot.waitUntil(lambda: w.state.config.model == "demo" and w.state.image_key == "sample:heart" and _ready(w)
                    and w.controls.config()["attack"] == "bim", timeout=WAIT)
    shown = w.controls.config()
    assert (shown["norm"], shown["eps"], shown["steps"], shown["seed"], shown["restarts"]) == ("l2", 0.75, 33, 9, 2)
    assert shown["early_stop"] and not shown["random_start"] and shown["target"] == 2 and shown["resolution"] == 48
    attack = w.state.config.attack
    assert (attack.attack, attack.norm, attack.eps, attack.steps, attack.target) == ("bim", "l2", 0.75, 33, 2)
    assert w.state.config.resolution == 48
    assert w.tabs.tabText(w.tabs.currentIndex()) == "Analysis"


def test_the_last_session_is_saved_on_close_and_restored_at_start(qtbot, main_window, tmp_path):
    w = main_window
    w.controls.set_config({"attack": "mifgsm", "eps": 5 / 255, "seed": 4})
    w.tabs.setCurrentIndex(2)  # Resolution lab
    last = tmp_path / "last.json"
    assert w.sessions.save_last(last)
    w.tabs.setCurrentIndex(0)
    w.controls.set_config({"attack": "pgd", "eps": 8 / 255, "seed": 0})
    assert w.sessions.restore_last(last)
    qtbot.waitUntil(lambda: w.controls.config()["attack"] == "mifgsm", timeout=WAIT)
    assert w.controls.config()["seed"] == 4 and abs(w.state.config.attack.eps - 5 / 255) < 1e-12
    assert w.tabs.tabText(w.tabs.currentIndex()) == "Resolution lab"


def test_a_corrupt_last_session_gives_one_message_and_the_defaults(qtbot, main_window, tmp_path):
    w = main_window
    before = w.state.config.to_dict()
    last = tmp_path / "last.json"
    last.write_text('{"format": "advlens-session", "version": 1, "config": {"attack": ')
    assert not w.sessions.restore_last(last)
    message = w.statusBar().currentMessage()
    assert "last session was not restored" in message and "not JSON" in message
    assert w.state.config.to_dict() == before
    assert w._error_box is None  # a status line, no dialog  # noqa: SLF001
    assert not w.sessions.restore_last(tmp_path / "never-saved.json")  # a first start says nothing


def test_a_session_naming_files_that_are_gone_restores_the_rest(qtbot, main_window, tmp_path):
    w = main_window
    path = tmp_path / "moved.json"
    path.write_text(session_text(**{"config.model": str(tmp_path / "gone.safetensors"),
                                    "config.image": str(tmp_path / "gone.png")}))
    assert w.sessions.open(path)
    qtbot.waitUntil(lambda: w.controls.config()["attack"] == "fgsm", timeout=WAIT)
    message = w.statusBar().currentMessage()
    assert "gone.safetensors" in message and "gone.png" in message
    assert w.state.config.model == "demo" and w.state.image_key == "sample:star"


def test_reset_settings_restores_the_defaults(qtbot, main_window, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from advlens.state import app_settings
    from advlens.sweep_settings import set_sweep_scheduler

    w = main_window
    w.set_theme("dark")
    set_sweep_scheduler("local:2")
    w.state.recent.add("images", __file__)
    w.controls.set_config({"attack": "deepfool", "steps": 77})  # remembered for DeepFool
    w.controls.set_config({"attack": "pgd", "norm": "l2", "eps": 2.5, "steps": 5, "seed": 3, "resolution": 32,
                           "early_stop": True})
    qtbot.waitUntil(lambda: _ready(w), timeout=WAIT)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    w.sessions.reset_dialog()
    assert w.controls.config()["norm"] == "l2"  # cancelled: nothing changed
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Reset)
    w.sessions.reset_dialog()
    qtbot.waitUntil(lambda: _ready(w), timeout=WAIT)
    defaults = RunConfig()
    shown = w.controls.config()
    assert (shown["attack"], shown["norm"], shown["steps"], shown["seed"], shown["resolution"], shown["early_stop"]) \
        == ("pgd", "linf", 20, 0, defaults.resolution, False)
    assert abs(shown["eps"] - defaults.attack.eps) < 1e-9
    assert w.state.config.attack == defaults.attack
    settings = app_settings()
    assert settings.value("view/theme", "system") == "system" and w.theme_group.checkedAction().data() == "system"
    assert settings.value("sweeps/scheduler") is None
    assert w.state.recent.items("images")  # history is not a setting: kept
    w.controls.set_config({"attack": "deepfool"})
    assert w.controls.config()["steps"] == 50  # DeepFool's own default again, not the 77 it was given


def _start(qtbot, engine_link, remember: bool = True):
    from advlens.gui import create_window

    window = create_window(remember_layout=remember, engine=engine_link)
    qtbot.addWidget(window)
    window.show()
    return window


def test_a_start_restores_the_session_the_last_close_saved(qtbot, tmp_path, monkeypatch, engine_link):
    """The real path: `create_window` with remembered layout reads the file `closeEvent` wrote."""
    monkeypatch.setenv("ADVLENS_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("ADVLENS_RUNS_DIR", str(tmp_path / "runs"))
    from advlens.session_file import default_session_path

    first = _start(qtbot, engine_link)
    qtbot.waitUntil(lambda: _ready(first) and first.explorer is not None, timeout=WAIT)
    first.state.load_image("sample:ring")
    qtbot.waitUntil(lambda: first.state.image_key == "sample:ring" and _ready(first), timeout=WAIT)
    first.controls.set_config({"attack": "apgd-ce", "norm": "l2", "eps": 0.5, "seed": 11})
    first.stability_panel.width_box.setValue(8)
    first.tabs.setCurrentIndex(1)
    first.close()
    assert default_session_path() == tmp_path / "last-session.json"
    assert json.loads(default_session_path().read_text())["config"]["image"] == "sample:ring"

    second = _start(qtbot, engine_link)
    qtbot.waitUntil(lambda: _ready(second) and second.explorer is not None
                    and second.controls.config()["attack"] == "apgd-ce", timeout=WAIT)
    shown = second.controls.config()
    assert (shown["norm"], shown["eps"], shown["seed"]) == ("l2", 0.5, 11)
    assert second.state.image_key == "sample:ring" and second.tabs.tabText(second.tabs.currentIndex()) == "Analysis"
    assert "stability" not in second._built_tabs  # noqa: SLF001 - restored for it, and built only now:
    assert second.stability_panel.width_box.value() == 8
    second.close()

    default_session_path().write_bytes(b"\x00garbage")
    third = _start(qtbot, engine_link)
    assert "last session was not restored" in third.statusBar().currentMessage()
    qtbot.waitUntil(lambda: _ready(third) and third.explorer is not None, timeout=WAIT)
    assert third.controls.config()["attack"] == "pgd" and third.state.image_key == "sample:star"
    third.close()


def test_a_session_never_opens_a_model_with_trust(qtbot, main_window, tmp_path, monkeypatch):
    """A pickle named by a session is opened as any file is: the engine refuses it until the person trusts it."""
    w = main_window
    pickle = tmp_path / "model.pt"
    pickle.write_bytes(b"\x80\x04not really a model")
    calls = []
    monkeypatch.setattr(w.state, "load_model", lambda *a, **k: calls.append((a, k)))
    path = tmp_path / "s.json"
    path.write_text(session_text(**{"config.model": str(pickle)}))
    assert w.sessions.open(path)
    assert calls == [((str(pickle),), {})]


# ---------------------------------------------------------------------------------------- the tabs' settings
ANALYSIS = {"count": 7, "resolution": 64, "eps_range": "0:8:2/255", "minimal_attack": "deepfool",
            "minimal_norm": "linf"}
RESOLUTION = {"images": "sample:heart", "resolutions": "16,32,64", "attack": "deepfool", "steps": 40,
              "condition": "nearest-upsampled", "models": "per-resolution", "left_metric": "rms"}
STABILITY = {"stripes": "2,4,16", "dims": "2,8", "train_points": 300, "test_points": 200, "width": 8, "depth": 3,
             "seeds": 2, "train_steps": 500, "learning_rate": 0.005, "norm": "linf", "sweep": "points",
             "point_counts": "100,200", "points_stripes": 8}


def _choose(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0, data
    combo.setCurrentIndex(index)


def _set_by_hand(w, folder, monkeypatch) -> str:
    """Every setting of the three tabs changed through their widgets, as a person would; the transfer model
    unchecked is returned."""
    from PySide6.QtWidgets import QFileDialog

    a = w.analysis_panel
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_a, **_k: str(folder))
    _choose(a.source, "folder")  # asks for the folder (the dialog above)
    a.count.setValue(ANALYSIS["count"])
    a.resolution.setCurrentText(str(ANALYSIS["resolution"]))
    a.eps_range.setText(ANALYSIS["eps_range"])
    _choose(a.minimal_attack, ANALYSIS["minimal_attack"])
    _choose(a.minimal_norm, ANALYSIS["minimal_norm"])
    keys = a.transfer_models.keys()
    assert keys, "the bundled models are transfer candidates"
    a.transfer_models.set_checked(keys[0], False)
    r = w.resolution_panel
    r.images.setCurrentText(RESOLUTION["images"])
    r.resolutions.setText(RESOLUTION["resolutions"])
    r.steps.setValue(RESOLUTION["steps"])
    for name in ("attack", "condition", "models", "left_metric"):
        _choose(getattr(r, name), RESOLUTION[name])
    s = w.stability_panel
    s.stripes.setText(STABILITY["stripes"])
    s.dims.setText(STABILITY["dims"])
    s.point_counts.setText(STABILITY["point_counts"])
    for box, name in ((s.train_points, "train_points"), (s.test_points, "test_points"), (s.width_box, "width"),
                      (s.depth_box, "depth"), (s.seeds, "seeds"), (s.steps, "train_steps"),
                      (s.points_stripes, "points_stripes"), (s.learning_rate, "learning_rate")):
        box.setValue(STABILITY[name])
    _choose(s.norm, STABILITY["norm"])
    _choose(s.sweep, STABILITY["sweep"])
    return keys[0]


def _shows_what_was_set(w, folder, unchecked) -> None:
    assert w.analysis_panel.options() == ANALYSIS | {"source": "folder", "folder": str(folder)}
    assert unchecked not in w.analysis_panel.transfer_models.checked_keys()
    assert w.analysis_state.choice.unchecked == {unchecked}
    assert w.resolution_panel.settings() == RESOLUTION
    assert w.stability_panel.options() == STABILITY


def test_every_tabs_settings_come_back_with_the_session(qtbot, main_window, tmp_path, monkeypatch):
    w = main_window
    unchecked = _set_by_hand(w, tmp_path, monkeypatch)
    _shows_what_was_set(w, tmp_path, unchecked)
    path = tmp_path / "labs.json"
    assert w.sessions.save(path)
    saved = json.loads(path.read_text())
    assert saved["version"] == 2 and saved["stability"]["width"] == 8 and saved["analysis"]["unchecked"] == [unchecked]

    # everything changes again
    w.analysis_panel.set_options(AnalysisSettings().to_dict())
    w.analysis_panel.transfer_models.set_checked(unchecked, True)
    w.resolution_panel.set_options(ResolutionSettings().to_dict())
    w.stability_panel.set_options(StabilitySettings().to_dict())
    assert w.stability_panel.options() != STABILITY and w.resolution_panel.settings() != RESOLUTION
    assert w.analysis_state.choice.unchecked == set()

    assert w.sessions.open(path)
    _shows_what_was_set(w, tmp_path, unchecked)
    w.sessions.reset_settings()  # Settings ▸ Reset puts the tabs back to their defaults too
    assert w.stability_panel.options() == StabilitySettings().to_dict()
    assert w.resolution_panel.settings() == ResolutionSettings().to_dict()
    assert w.analysis_state.choice.unchecked == set()


def test_settings_for_tabs_not_built_yet_wait_for_them(qtbot, main_window, tmp_path):
    w = main_window
    assert not w._built_tabs  # noqa: SLF001 - the fixture's window has opened none of the lazy tabs
    data = json.loads(session_text(tab="explorer"))
    data["analysis"] |= ANALYSIS
    data["resolution"] |= RESOLUTION
    data["stability"] |= STABILITY
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    assert w.sessions.open(path)
    assert not w._built_tabs  # noqa: SLF001 - opening a session builds no tab
    again = tmp_path / "again.json"
    assert w.sessions.save(again)  # saved before the tabs exist: what was restored for them is kept
    saved = json.loads(again.read_text())
    assert (saved["analysis"], saved["resolution"], saved["stability"]) == \
        (data["analysis"], data["resolution"], data["stability"])
    w.tabs.setCurrentIndex(3)  # opening the Stability lab builds it, with the session's settings
    assert w.stability_panel.options() == STABILITY
    assert w.resolution_panel.settings() == RESOLUTION
    assert w.analysis_panel.options() | {"unchecked": []} == AnalysisSettings().to_dict() | ANALYSIS
    assert w.sessions.current_session().stability == StabilitySettings(**STABILITY)


def test_an_old_session_opens_and_the_tabs_keep_their_settings(qtbot, main_window, tmp_path):
    w = main_window
    w.stability_panel.width_box.setValue(8)
    w.resolution_panel.steps.setValue(40)
    data = json.loads(session_text())
    for key in ("analysis", "resolution", "stability"):
        del data[key]
    data["version"] = 1
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    assert w.sessions.open(path)
    qtbot.waitUntil(lambda: w.controls.config()["attack"] == "fgsm", timeout=WAIT)
    assert w.stability_panel.width_box.value() == 8 and w.resolution_panel.steps.value() == 40
    assert w.tabs.tabText(w.tabs.currentIndex()) == "Analysis"


def test_a_session_with_a_bad_lab_field_is_refused_in_one_line(qtbot, main_window, tmp_path):
    w = main_window
    w.stability_panel.seeds.setValue(5)
    before = w.state.config.to_dict()
    path = tmp_path / "bad.json"
    path.write_text(session_text(**{"stability.width": 5000, "resolution.steps": 40}))
    assert not w.sessions.open(path)
    message = w.statusBar().currentMessage()
    assert "'stability.width' must be between 1 and 1024" in message and "\n" not in message
    assert w.stability_panel.seeds.value() == 5 and w.resolution_panel.steps.value() == 100  # nothing applied
    assert w.state.config.to_dict() == before
    assert not w.sessions.restore_last(path)
    assert "last session was not restored" in w.statusBar().currentMessage()
    good = tmp_path / "good.json"
    good.write_text(session_text(**{"stability.width": 32}))
    assert w.sessions.open(good)  # and the app goes on
    assert w.stability_panel.width_box.value() == 32


def test_the_tab_settings_match_their_panels(qtbot):
    """The defaults and ranges a session checks are the panels' own (tab_settings.py keeps a copy: Qt-free)."""
    from advlens.tab_settings import ANALYSIS_RESOLUTIONS, LEFT_METRICS, RESOLUTION_RULES, STABILITY_RULES
    from advlens.widgets.analysis_panel import AnalysisPanel
    from advlens.widgets.resolution_panel import ResolutionPanel
    from advlens.widgets.stability_panel import StabilityPanel

    analysis, resolution, stability = AnalysisPanel(), ResolutionPanel(), StabilityPanel()
    for panel in (analysis, resolution, stability):
        qtbot.addWidget(panel)
    assert analysis.options() | {"unchecked": []} == AnalysisSettings().to_dict()
    assert resolution.settings() == ResolutionSettings().to_dict()
    assert stability.options() == StabilitySettings().to_dict()
    assert tuple(int(analysis.resolution.itemText(i)) for i in range(analysis.resolution.count())) == \
        ANALYSIS_RESOLUTIONS
    assert (analysis.count.minimum(), analysis.count.maximum()) == (1, 5000)
    assert tuple(resolution.left_metric.itemData(i) for i in range(resolution.left_metric.count())) == LEFT_METRICS
    assert (resolution.steps.minimum(), resolution.steps.maximum()) == tuple(RESOLUTION_RULES["steps"])
    boxes = {"train_points": stability.train_points, "test_points": stability.test_points,
             "width": stability.width_box, "depth": stability.depth_box, "seeds": stability.seeds,
             "train_steps": stability.steps, "points_stripes": stability.points_stripes,
             "learning_rate": stability.learning_rate}
    for name, box in boxes.items():
        assert (box.minimum(), box.maximum()) == tuple(STABILITY_RULES[name]), name


def test_a_tab_holding_a_typo_is_left_out_and_the_rest_is_saved(qtbot, main_window, tmp_path):
    """A setting the session could not read back (a list of sizes with a typo) would make the whole file
    unreadable at the next start: that tab is left out, and it keeps its settings when the file is opened."""
    w = main_window
    w.stability_panel.stripes.setText("2,4,x")
    w.resolution_panel.steps.setValue(40)
    path = tmp_path / "typo.json"
    assert w.sessions.save(path)
    saved = json.loads(path.read_text())
    assert "stability" not in saved and saved["resolution"]["steps"] == 40
    w.resolution_panel.steps.setValue(100)
    assert w.sessions.open(path)
    assert w.resolution_panel.steps.value() == 40 and w.stability_panel.stripes.text() == "2,4,x"
