"""Run records in the Explorer: open a saved run, replay it live, compare two runs, export a report.

It adapts `advlens.engine.runs` to the window. Opening a run puts its settings in the controls and
shows the record's own final images, bars and curves as if the run had just ended: records keep the
top-k, so nothing is computed and nothing is loaded from the record (a model file named in a shared
record runs no code until the person asks for a replay). A replay loads the record's model in the
engine process if it is not the current one, waits for it and for the input, and runs the same
settings and seed live; the engine's record is then judged against the original.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog

from advlens.engine.config import AttackConfig
from advlens.engine.outcome import describe_run, record_facts
from advlens.engine.paths import default_runs_dir
from advlens.engine.protocol import ImageSource, caveat_of
from advlens.engine.record import RecordError, RunRecord
from advlens.engine.runs import (
    ReplayResult,
    RunComparison,
    budget_text,
    class_name,
    compare_records,
    judge_replay,
    list_runs,
    load_record,
    local_time,
    setting_text,
    write_report,
)
from advlens.engine.samples import SAMPLE_PREFIX, sample_label
from advlens.frames import Frame, record_frame

if TYPE_CHECKING:
    from advlens.widgets.run_compare import RunCompareDialog

REPLAY_POLL_MS = 20
NORM_TITLES = {"linf": "Linf", "l2": "L2", "l1": "L1"}


def _hwc(image: np.ndarray) -> np.ndarray:
    return image.transpose(1, 2, 0)


def outcome_text(record: RunRecord) -> tuple[str, str]:
    """(banner text, tone) for a record's outcome, worded by the same function as the end of a live run."""
    facts = record_facts(record)
    facts.caveat = caveat_of(record.model_notes)
    return describe_run(facts)


class RunRecordActions(QObject):
    """File ▸ Open run / Compare runs / Export report and Run ▸ Replay, for one Explorer window."""

    replayFinished = Signal(object)  # ReplayResult, or None when the replay did not finish
    runOpened = Signal(object)  # RunRecord

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.record: RunRecord | None = None  # the current run: the one opened, else the last that ended
        self.record_path: Path | None = None
        self.last_replay: ReplayResult | None = None
        self.compare_window: RunCompareDialog | None = None
        self._replaying: tuple[RunRecord, list[str]] | None = None
        self._replay_handle = None  # the replay's RunHandle, to tell its end from a run started over it
        self.state.runEnded.connect(self._track)

    def _track(self, event) -> None:
        if event.record is not None:
            self.record, self.record_path = event.record, self.state.last_record_path

    def _status(self, text: str, ms: int = 15000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------ open
    def open_run_dialog(self) -> None:
        start = default_runs_dir()
        folder = QFileDialog.getExistingDirectory(self.window, "Open a saved run", str(start if start.is_dir() else ""))
        if folder:
            self.open_run(folder)

    def open_run(self, path: str | Path) -> bool:
        """Show a saved run as if it had just ended; its settings go into the controls for a replay."""
        if self.state.is_running:
            self.window.show_error("Cannot open the run", "an attack is running: stop it first")
            return False
        try:
            record = load_record(path)
        except RecordError as exc:
            self.window.show_error("Cannot open the run", str(exc))
            return False
        path = Path(path)
        if path.name == "record.json":
            path = path.parent
        problem, notes = self._apply(record)
        self._show(record, path)
        self.record, self.record_path = record, path
        text, tone = outcome_text(record)
        lines = [f"Loaded run of {local_time(record.created)} — {text}"]
        if problem:
            lines.append(f"Shown from the record only: {problem}. Replay needs the model.")
        lines += notes
        self.window.banner.setText("\n".join(lines))
        self.window._set_banner_tone(tone)
        if problem:
            self.window.show_error("Run opened without its model", f"{problem}. The record's images and curves "
                                   f"are shown; Replay needs the model.")
        else:
            self._status(f"Opened the run of {local_time(record.created)} from {path}"
                         + (f" — {notes[0]}" if notes else ""))
        self.runOpened.emit(record)
        return True

    def model_problem(self, spec: str) -> str | None:
        """Why a record's model cannot be loaded, seen without loading it (a file gone), else None."""
        spec = str(spec)
        looks_like_a_file = "/" in spec or "\\" in spec or bool(Path(spec).suffix)
        if not looks_like_a_file or spec.split(":", 1)[0] in ("torchvision", "timm"):
            return None  # a bundled name or a hub name: only the engine can say
        if not Path(spec).exists():
            return f"its model '{spec}' cannot be loaded (no such file)"
        if not Path(spec).is_file():
            return f"its model '{spec}' cannot be loaded (not a file)"
        return None

    def _apply(self, record: RunRecord) -> tuple[str | None, list[str]]:
        """Put the record's settings and image into the Explorer (its model is left for a replay to load).

        Returns (why its model could not be loaded or None, notes about the image).
        """
        cfg = record.config
        state = self.state
        problem, notes = self.model_problem(cfg.model), []
        if problem is None and (state.model is None or state.config.model != cfg.model):
            notes.append(f"Its model '{cfg.model}' is loaded when you press Replay.")
        if cfg.device != state.config.device and cfg.device in state.devices():
            self.window.controls.set_devices(state.devices(), cfg.device)
            state.config.device = cfg.device
        spec = str(cfg.image)
        if spec.startswith(SAMPLE_PREFIX):
            source, label = ImageSource(spec), sample_label(spec[len(SAMPLE_PREFIX):])
        elif Path(spec).is_file():
            source, label = ImageSource(str(Path(spec).resolve())), None
        else:
            # a pasted image or a moved file: the record holds the exact input the run attacked
            source, label = ImageSource(array=np.ascontiguousarray(record.original[0]), name=spec), None
            notes.append(f"The image '{spec}' cannot be read now: the input stored in the record is used.")
        values = cfg.attack.to_dict() | {"resolution": cfg.resolution, "resample_filter": cfg.resample_filter}
        self.window.controls.set_config(values)
        # the controls round budgets to what they display: the run's own values go into the state exactly
        state.config.attack = AttackConfig.from_dict(cfg.attack.to_dict())
        state.config.resolution, state.config.resample_filter = cfg.resolution, cfg.resample_filter
        state._pending_image = None  # noqa: SLF001 - the record's image replaces one being opened
        state._commit_image(source, spec, label, None)  # noqa: SLF001
        record_label = record.labels[0]
        state.label = record_label if 0 <= record_label < len(record.class_names) else label
        state.input = record.original[0].transpose(1, 2, 0).astype(np.float32)
        state.prediction = None
        return problem, notes

    def record_frame(self, record: RunRecord) -> Frame:
        """The Frame of a record's end state, from the record alone (no model, no re-run)."""
        return record_frame(record)

    def _show(self, record: RunRecord, path: Path) -> None:
        frame = self.record_frame(record)
        self.state.last_frame = frame
        self.state.last_record = record
        self.state.last_record_path = path
        self.state.frameReady.emit(frame)

    # ------------------------------------------------------------------ replay
    def replay(self) -> bool:
        """Run the current run's settings and seed again, live; when it ends, say whether it matched.

        The record's model is loaded in the engine first if it is not the current one (asking for trust
        or a card as any model file does); the run starts once the model and the input are ready.
        """
        record = self.record
        if record is None:
            self.window.show_error("Nothing to replay", "open a saved run (File ▸ Open run…) or finish a run first")
            return False
        if self.state.is_running:
            self.window.show_error("Cannot replay", "an attack is running: stop it first")
            return False
        problem, notes = self._apply(record)
        if problem:
            self.window.show_error("Cannot replay this run", problem)
            return False
        self._replaying = (record, notes)
        state = self.state
        if state.model is None or state.config.model != record.config.model:
            state.load_model(record.config.model)
        else:
            state._refresh_input()  # noqa: SLF001 - the engine reads the record's image as the run will
        self._replay_error = ""
        state.error.connect(self._replay_failed)
        self._replay_timer = QTimer(self)
        self._replay_timer.setInterval(REPLAY_POLL_MS)
        self._replay_timer.timeout.connect(self._start_replay_when_ready)
        self._replay_timer.start()
        self._status(f"Replaying the run of {local_time(record.created)} (seed {record.seed})…", 0)
        return True

    def _replay_failed(self, title: str, message: str) -> None:
        self._replay_error = f"{title}: {message}"

    def _start_replay_when_ready(self) -> None:
        state, (record, _notes) = self.state, self._replaying or (None, [])
        if record is None:
            self._stop_waiting()
            return
        if self._replay_error:
            self._stop_waiting()
            self._replaying = None
            self.window.show_error("Cannot replay this run", self._replay_error)
            self.replayFinished.emit(None)
            return
        ready = (state.model is not None and state.config.model == record.config.model and not state.library.loading
                 and state.input_ready)
        if not ready:
            return
        self._stop_waiting()
        label = record.labels[0]
        state.label = label if 0 <= label < state.model.num_classes else None
        state.runEnded.connect(self._on_replay_ended)
        if not state.start():
            state.runEnded.disconnect(self._on_replay_ended)
            self._replaying = None
            self.replayFinished.emit(None)
            return
        self._replay_handle = state.handle  # a run started over it ends with another handle

    def _stop_waiting(self) -> None:
        self._replay_timer.stop()
        try:
            self.state.error.disconnect(self._replay_failed)
        except (RuntimeError, TypeError):
            pass

    def _on_replay_ended(self, event) -> None:
        self.state.runEnded.disconnect(self._on_replay_ended)
        original, notes = self._replaying or (None, [])
        self._replaying = None
        if original is None:
            return
        if self.state.handle is not self._replay_handle:
            self.last_replay = None
            self._status("Replay interrupted: another run was started before it ended")
            self.replayFinished.emit(None)
            return
        if event.kind != "finished" or event.record is None:
            self.last_replay = None
            text = "Replay did not finish: nothing to compare with the record"
            self._status(text)
            self.window.banner.setText(f"{self.window.banner.text()}\n{text}")
            self.replayFinished.emit(None)
            return
        if event.record.device != original.device:
            notes = [*notes, f"recorded on {original.device}, replayed on {event.record.device}"]
        result = judge_replay(original, event.record, notes)
        self.last_replay = result
        if result.identical:
            text = "Replay matches the record: same adversarial image and outcome"
        else:
            text = "Replay DIFFERS from the record: " + "; ".join(result.differences[:3])
        self.window.banner.setText(f"{self.window.banner.text()}\n{text}")
        self._status(text + (f" ({'; '.join(result.notes)})" if result.notes else ""), 30000)
        self.replayFinished.emit(result)

    # ------------------------------------------------------------------ compare
    def compare_dialog(self) -> RunCompareDialog | None:
        """Open the comparison on the runs folder's records: the current run as A, the one before as B."""
        folder = default_runs_dir()
        try:
            summaries = list_runs(folder) if folder.is_dir() else []
        except RecordError:
            summaries = []
        items = [(str(s.path), f"{local_time(s.created)}  {'SUCCESS' if s.success else 'failed'}  {s.attack} "
                  f"{s.norm} eps={s.budget} steps={s.steps} seed={s.seed}  {s.image}  ({s.path.name})")
                 for s in summaries if not s.error]
        current = str(self.record_path) if self.record_path is not None else None
        if current is not None and current not in [key for key, _ in items]:
            items.insert(0, (current, f"current run ({Path(current).name})"))
        if len(items) < 2:
            self.window.show_error("Nothing to compare", f"comparing needs two saved runs; {folder} holds "
                                   f"{len(items)}")
            return None
        a = current if current is not None else items[0][0]
        b = next(key for key, _ in items if key != a)
        return self.compare(a, b, items)

    def compare(self, a: str | Path, b: str | Path, items: list[tuple[str, str]] | None = None) -> RunCompareDialog:
        """Show runs `a` and `b` in the comparison dialog (made once, then reused)."""
        dialog = self.compare_window
        if dialog is None:
            from advlens.widgets.run_compare import RunCompareDialog  # pyqtgraph: loaded when first compared

            dialog = RunCompareDialog(self.window)
            dialog.choiceChanged.connect(lambda ka, kb: self._fill_comparison(ka, kb))
            self.compare_window = dialog
        if items is None:
            items = [(str(a), Path(a).name), (str(b), Path(b).name)]
        dialog.set_choices(items, str(a), str(b))
        self._fill_comparison(str(a), str(b))
        dialog.show()
        dialog.raise_()
        return dialog

    def _fill_comparison(self, a: str, b: str) -> None:
        try:
            comparison = compare_records(load_record(a), load_record(b), a, b)
        except RecordError as exc:
            self.compare_window.show_message(f"Cannot compare: {exc}")
            return
        self.compare_window.set_runs(self.comparison_view(comparison))

    @staticmethod
    def comparison_view(comparison: RunComparison) -> dict:
        """The plain data the dialog shows (numpy arrays and text only)."""
        runs = []
        for name, record in (("A", comparison.a), ("B", comparison.b)):
            names = record.class_names
            cfg = record.config.attack
            delta = record.adversarial[0] - record.original[0]
            runs.append({
                "title": f"Run {name}: {local_time(record.created)} · {cfg.attack.upper()} {cfg.norm} "
                         f"ε={budget_text(cfg.to_dict())} · seed {cfg.seed}",
                "tooltip": comparison.a_path if name == "A" else comparison.b_path,
                "original": _hwc(record.original[0]),
                "adversarial": _hwc(record.adversarial[0]),
                "perturbation": delta.mean(axis=0),
                "peak": float(np.abs(delta).max(initial=0.0)),
                "original_caption": f"{class_name(names, record.clean_pred[0])} {record.clean_conf[0]:.0%}",
                "adversarial_caption": f"{class_name(names, record.adv_pred[0])} {record.adv_conf[0]:.0%}",
                "tone": "bad" if record.success[0] else "good",
            })
        norms = (comparison.a.config.attack.norm, comparison.b.config.attack.norm)
        rows = [("Settings that differ", "", "")]
        rows += [(f, setting_text(f, va, norms[0]), setting_text(f, vb, norms[1]))
                 for f, va, vb in comparison.differences] or [("(none)", "the same", "the same")]
        rows += [("Outcome", "", ""), *comparison.outcome]
        series = [{n: pair[0] for n, pair in comparison.series.items()},
                  {n: pair[1] for n, pair in comparison.series.items()}]
        return {"runs": runs, "steps": list(comparison.steps), "series": series, "rows": rows}

    # ------------------------------------------------------------------ report
    def export_report_dialog(self) -> None:
        if self.record is None:
            self.window.show_error("Nothing to report", "run an attack or open a saved run first")
            return
        name = f"{self.record_path.name}-report.html" if self.record_path is not None else "advlens-report.html"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export report", name, "HTML (*.html)")
        if path:
            self.export_report(Path(path))

    def export_report(self, path: Path) -> bool:
        """Write the current run's one-page HTML report (atomically)."""
        if self.record is None:
            self.window.show_error("Nothing to report", "run an attack or open a saved run first")
            return False
        try:
            write_report(self.record, path, source=self.record_path)
        except OSError as exc:
            self.window.show_error("Cannot write the report", f"{path}: {exc.strerror or exc}")
            return False
        self._status(f"Report saved to {path}")
        return True
