"""Run records in the Explorer: open a saved run, replay it live, compare two runs, export a report.

It adapts `advlens.engine.runs` to the window. Opening a run puts its settings in the controls, loads
its model and image when they can still be loaded, and shows the record's own final images and
curves as if the run had just ended. A replay is an ordinary live run of the same settings and seed
(through the state's runner) whose record is then judged against the original by the engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from advlens.engine import AdvLensError, AttackConfig, RunRecord
from advlens.engine.catalogue import attack_spec, planned_steps
from advlens.engine.paths import default_runs_dir
from advlens.engine.record import RecordError
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
    plot_series,
    setting_text,
    write_report,
)
from advlens.engine.samples import SAMPLE_PREFIX
from advlens.state import Frame, caveat_of
from advlens.widgets.run_compare import RunCompareDialog

NORM_TITLES = {"linf": "Linf", "l2": "L2", "l1": "L1"}


def _hwc(image: np.ndarray) -> np.ndarray:
    return image.transpose(1, 2, 0)


def outcome_text(record: RunRecord) -> tuple[str, str]:
    """(banner text, tone) for a record's outcome, worded like the end of a live run."""
    cfg = record.config.attack
    names = record.class_names
    if record.status == "cancelled":
        head, tone = f"Stopped at step {record.steps_run}", ""
    elif record.success[0]:
        head, tone = "SUCCESS — the model is fooled", "success"
    else:
        head, tone = "FAILED — the model held", "fail"
    norm = NORM_TITLES.get(cfg.norm, cfg.norm)
    try:
        title, minimal = attack_spec(cfg.attack).title, attack_spec(cfg.attack).is_minimal
    except (KeyError, AdvLensError):
        title, minimal = cfg.attack, False
    setting = f"minimal {norm}" if minimal else f"{norm} ε={budget_text(cfg.to_dict())}"
    caveat = caveat_of(record.model_notes)
    return (f"{head}: {class_name(names, record.clean_pred[0])} → {class_name(names, record.adv_pred[0])} "
            f"({record.adv_conf[0]:.0%}) · {title} {setting} · L2 {record.norms['l2'][0]:.3f} · "
            f"Linf {record.norms['linf'][0] * 255:.2f}/255" + (f" · model with {caveat}" if caveat else "")), tone


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
        problem, notes = self._apply(record, load_model=False)
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

    def _apply(self, record: RunRecord, load_model: bool = True) -> tuple[str | None, list[str]]:
        """Load the record's model (only if `load_model`: a shared record's model file is not opened until
        the person asks to replay), image and settings into the Explorer.

        Returns (why the model could not be loaded or None, notes about the image).
        """
        cfg = record.config
        state = self.state
        problem, notes = None, []
        if state.model is None or state.config.model != cfg.model:
            if not load_model:
                problem = self._missing_model(cfg.model)
                if problem is None:
                    notes.append(f"Its model '{cfg.model}' is loaded when you press Replay.")
            else:
                before = state.last_error
                if not state.load_model(cfg.model):
                    reason = (state.last_error if state.last_error != before
                              else "it needs your confirmation or a model card")
                    problem = f"its model '{cfg.model}' cannot be loaded ({reason})"
        if problem is None and cfg.device != state.config.device and cfg.device in state.devices():
            self.window.controls.set_devices(state.devices(), cfg.device)
            state.set_settings({"device": cfg.device})
        spec = str(cfg.image)
        loaded = False
        if spec.startswith(SAMPLE_PREFIX) or Path(spec).is_file():
            already = spec == state.image_key and (spec.startswith(SAMPLE_PREFIX) or state.source is not None)
            loaded = already or state.load_image(spec)
        if not loaded:
            # a pasted image or a moved file: the record holds the exact input the run attacked
            state.source = torch.from_numpy(np.ascontiguousarray(record.original[0]))
            state.image_key = spec
            state.config.image = spec
            notes.append(f"The image '{spec}' cannot be read now: the input stored in the record is used.")
        values = cfg.attack.to_dict() | {"resolution": cfg.resolution, "resample_filter": cfg.resample_filter}
        self.window.controls.set_config(values)
        # the controls round budgets to what they display: the run's own values go into the state exactly
        state.config.attack = AttackConfig.from_dict(cfg.attack.to_dict())
        state.config.resolution, state.config.resample_filter = cfg.resolution, cfg.resample_filter
        if problem is None and state.model is not None and state.config.model == cfg.model:
            label = record.labels[0]
            state.label = label if 0 <= label < state.model.num_classes else None
            state._refresh_input()
        return problem, notes

    @staticmethod
    def _missing_model(name: str) -> str | None:
        """Why a record's model surely cannot be loaded, found without opening it (a file that is gone)."""
        from advlens.engine.loaders import bundled_models, model_alias
        from advlens.engine.loaders.formats import NAMED_SOURCES

        if model_alias(name) in {b.name for b in bundled_models()} or name.split(":", 1)[0] in NAMED_SOURCES:
            return None
        if not Path(name).is_file():
            return f"its model '{name}' cannot be loaded (no such file)"
        return None

    def record_frame(self, record: RunRecord) -> Frame:
        """The Frame of a record's end state, from the record's arrays (no re-run)."""
        names = record.class_names
        x, x_adv = record.original[0], record.adversarial[0]
        delta = x_adv - x
        target = record.config.attack.target
        adv_label = class_name(names, record.adv_pred[0])
        topk_labels, topk_probs = [adv_label], np.array([record.adv_conf[0]])
        model = self.state.model
        if model is not None and list(model.labels) == list(names) and self.state.config.model == record.config.model:
            try:
                with torch.no_grad():
                    probs = model.predict(torch.from_numpy(x_adv)[None].to(self.state.device))[0]
                top = probs.topk(min(5, probs.numel()))
                topk_labels = [class_name(names, int(i)) for i in top.indices]
                topk_probs = top.values.cpu().numpy()
            except (AdvLensError, RuntimeError):
                pass
        try:
            total = planned_steps(record.config.attack)
        except (KeyError, AdvLensError):
            total = record.steps_run
        steps, series = plot_series(record)
        return Frame(
            original=_hwc(x),
            clean_label=class_name(names, record.clean_pred[0]),
            clean_conf=float(record.clean_conf[0]),
            true_label=class_name(names, record.labels[0]),
            target_label=class_name(names, target) if target is not None else None,
            adversarial=_hwc(x_adv),
            perturbation=delta.mean(axis=0),
            perturbation_peak=float(record.norms["linf"][0]),
            difference=np.abs(delta).sum(axis=0),
            adv_label=adv_label,
            adv_conf=float(record.adv_conf[0]),
            success=bool(record.success[0]),
            topk_labels=topk_labels,
            topk_probs=np.asarray(topk_probs, dtype=float),
            step=record.steps_run,
            total_steps=max(total, 1),
            steps=steps,
            series=series,
            norms={name: float(record.norms[name][0]) for name in ("l0", "l2", "linf")},
        )

    def _show(self, record: RunRecord, path: Path) -> None:
        frame = self.record_frame(record)
        self.state.last_frame = frame
        self.state.last_record = record
        self.state.last_record_path = path
        self.state.frameReady.emit(frame)

    # ------------------------------------------------------------------ replay
    def replay(self) -> bool:
        """Run the current run's settings and seed again, live; when it ends, say whether it matched."""
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
        self.state.runEnded.connect(self._on_replay_ended)
        if not self.state.start():
            self.state.runEnded.disconnect(self._on_replay_ended)
            self._replaying = None
            return False
        self._replay_handle = self.state.handle  # a run started over it ends with another handle
        self._status(f"Replaying the run of {local_time(record.created)} (seed {record.seed})…", 0)
        return True

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
