"""The Explorer's diagnostics: the indicators of attack failure of the run on screen, live and after it.

While a run goes, each frame's series are read by the torch-free indicator logic (a frozen margin, a
step too short for the budget: what the telemetry can tell so far). When it ends, the probes
(gradients, noise, a DeepFool cross-check) run off the GUI thread and the full diagnosis replaces the
live one. "Apply fix" turns a fix into the next run's settings, starts it, and when it ends the two
runs' outcomes go to the strip side by side. Everything reaches the widget as plain dicts and text.

The probes are one more job for the engine process (`DiagnoseRunJob` on its 'diagnostics' lane, with
the record the run ended with), so the window never runs torch; a new run cancels them there.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from advlens.engine.config import AttackConfig
from advlens.engine.diagnostics.indicators import Fix, RunDiagnosis
from advlens.engine.diagnostics.judge import diagnose
from advlens.engine.errors import AdvLensError
from advlens.engine.jobs import JobOutcome
from advlens.engine.protocol import DiagnoseRunJob
from advlens.engine.units import GREY_LEVELS, format_budget, linf_text, norm_title
from advlens.model_library import EXPLORER_KEY
from advlens.task_poller import TaskPoller

log = logging.getLogger(__name__)

LIVE_INTERVAL_S = 0.5  # the live indicators are recomputed at most this often
POLL_MS = 50


def live_metrics(series: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A frame's series as the (steps, 1) metrics the indicators read (success is margin < 0)."""
    margin = np.asarray(series.get("margin", []), dtype=float)
    metrics = {"margin": margin[:, None], "success": (margin < 0).astype(float)[:, None],
               "loss": np.asarray(series.get("loss", np.zeros_like(margin)), dtype=float)[:, None]}
    if "l2" in series:
        metrics["l2"] = np.asarray(series["l2"], dtype=float)[:, None]
    if "linf_255" in series:
        metrics["linf"] = np.asarray(series["linf_255"], dtype=float)[:, None] / GREY_LEVELS
    return metrics


def attack_text(config: AttackConfig) -> str:
    from advlens.engine.catalogue import attack_spec

    spec = attack_spec(config.attack)
    budget = f"minimal {norm_title(config.norm)}" if spec.is_minimal else \
        f"{norm_title(config.norm)} ε={format_budget(config.eps, config.norm)}"
    extra = []
    if spec.uses_steps:
        extra.append(f"{config.steps} steps")
    if config.step_size is not None and spec.uses_step_size:
        extra.append(f"step {format_budget(config.step_size, config.norm)}")
    if config.restarts > 1:
        extra.append(f"{config.restarts} restarts")
    for key, value in config.params.items():  # the settings that differ from the attack's defaults
        param = spec.params.get(key)
        if param is not None and (not param.norms or config.norm in param.norms) and value != param.default:
            extra.append(f"{key}={value:g}")
    title = spec.title.replace(" (black-box)", "")
    return f"{title} {budget}" + (", " + ", ".join(extra) if extra else "")


def outcome_rows(record, diagnosis: dict | None) -> dict[str, str]:
    """One run's column of the comparison: attack, outcome, size, indicators."""
    names = record.class_names
    clean, adv = names[record.clean_pred[0]], names[record.adv_pred[0]]
    outcome = (f"fooled: {clean} → {adv} ({record.adv_conf[0]:.0%})" if record.success[0]
               else f"not fooled: {adv} ({record.adv_conf[0]:.0%})")
    size = f"L2 {record.norms['l2'][0]:.3f}, Linf {linf_text(record.norms['linf'][0])}"
    fired = [i["title"] for i in (diagnosis or {}).get("summary", []) if i.get("level") in ("fail", "warn")]
    indicators = ", ".join(fired) if fired else ("none fired" if diagnosis else "measuring…")
    return {"attack": attack_text(record.config.attack), "outcome": outcome, "size": size, "indicators": indicators}


def comparison_rows(before: dict[str, str], after: dict[str, str] | None, minimal: bool) -> list[tuple[str, str, str]]:
    """(what, before, after) rows; the perturbation's size only where a minimal-norm attack ran (a
    fixed-budget attack spends its budget whatever it finds)."""
    names = ("attack", "outcome", "size", "indicators") if minimal else ("attack", "outcome", "indicators")
    return [(name, before[name], after[name] if after is not None else "running…") for name in names]


def _is_minimal(config: AttackConfig) -> bool:
    from advlens.engine.catalogue import attack_spec

    return attack_spec(config.attack).is_minimal


class _ProbeJob(TaskPoller):
    """The probe job of one record in the engine; its outcome goes back to the DiagnosticsState."""

    def __init__(self, owner: DiagnosticsState):
        super().__init__(owner.state.link, "diagnostics", interval_ms=POLL_MS, parent=owner)
        self.owner = owner
        self.record = None

    def on_outcome(self, outcome: JobOutcome) -> None:
        self.owner._on_probes_ended(self.record, outcome)  # noqa: SLF001 - its owner's callback


class DiagnosticsState(QObject):
    """Diagnoses the runs of one `ExplorerState` and keeps the before/after pair of an applied fix."""

    diagnosisChanged = Signal(object, bool)  # RunDiagnosis dict (or None), live
    comparisonChanged = Signal(object)  # [(what, before, after)] or None
    fixStarted = Signal(dict)  # the fix now running
    probing = Signal(str)  # the probes started (a line to show while they run)
    status = Signal(str)

    def __init__(self, state, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self._probes = _ProbeJob(self)
        self._last_live = 0.0
        self.diagnosis: dict | None = None
        self._before: tuple | None = None  # (record, diagnosis) of the run a fix started from
        self._fix: dict | None = None
        self._pending_fix_run = False
        self._handle = None
        state.frameReady.connect(self._on_frame)
        state.runStateChanged.connect(self._on_run_state)
        state.runEnded.connect(self._on_run_ended)

    # ------------------------------------------------------------------ live
    def _on_run_state(self, run_state: str) -> None:
        handle = getattr(self.state, "handle", None)
        if run_state not in ("running", "paused") or handle is self._handle:
            return  # not a new run (a resume, a pause, an end)
        self._handle = handle
        self._cancel_probes()
        self.diagnosis = None
        self._last_live = 0.0
        self.diagnosisChanged.emit(None, True)
        if not self._pending_fix_run and self._before is not None:
            self._before, self._fix = None, None  # a run of its own: the comparison is over
            self.comparisonChanged.emit(None)
        self._pending_fix_run = False

    def _on_frame(self, frame) -> None:
        if self.state.run_state not in ("running", "paused") or not getattr(frame, "series", None):
            return
        now = time.perf_counter()
        if now - self._last_live < LIVE_INTERVAL_S and self.state.run_state != "paused":
            return  # a running attack is read twice a second; a paused one at every single step
        self._last_live = now
        try:
            metrics = live_metrics(frame.series)
            if len(metrics["margin"]) == 0:
                return
            live = diagnose(metrics, self.state.config.attack, [bool(frame.success)], None, None, None,
                            finished=False)
        except (ValueError, KeyError, AdvLensError) as exc:  # a half-built series: wait for the next frame
            log.debug("live diagnosis skipped: %s", exc)
            return
        self.diagnosis = live.to_dict()
        self.diagnosisChanged.emit(self.diagnosis, True)

    # ------------------------------------------------------------------ after the run
    def _on_run_ended(self, event) -> None:
        record = getattr(event, "record", None)
        if event.kind == "failed" or record is None or self.state.model is None:
            return
        self._submit_probes(record)

    def _submit_probes(self, record) -> None:
        self._cancel_probes()
        self._probes.record = record
        self._probes.launch(DiagnoseRunJob(EXPLORER_KEY, record, seed=record.config.attack.seed))
        self.probing.emit("Probing the model after the run: gradients, noise, a DeepFool cross-check…")

    def _on_probes_ended(self, record, outcome: JobOutcome) -> None:
        self._probes.handle = None
        if outcome.kind == "cancelled":
            return
        if outcome.kind != "finished":
            self.status.emit(f"Diagnostics failed: {outcome.message}"[:300])
            return
        diagnosis: RunDiagnosis = outcome.result
        self.diagnosis = diagnosis.to_dict()
        self.diagnosisChanged.emit(self.diagnosis, False)
        fired = diagnosis.fired()
        self.status.emit(f"Diagnostics: {len(fired)} indicator(s) fired" if fired else
                         "Diagnostics: no indicator of attack failure fired")
        if self._fix is not None and self._before is not None and record is not self._before[0]:
            self._show_comparison(record)

    def _cancel_probes(self) -> None:
        """Stop the probes of an earlier run in the engine (within one attack step): a new run needs the CPU."""
        handle = self._probes.handle
        if handle is not None and not handle.done():
            self._probes.timer.stop()
            handle.abandon("cancelled: a new run started")
        self._probes.handle = None

    @property
    def busy(self) -> bool:
        return self._probes.handle is not None and not self._probes.handle.done()

    # ------------------------------------------------------------------ fixes
    def apply_fix(self, fix: dict) -> bool:
        """Run the attack again with the fix applied to the current settings; compare when it ends."""
        before = self.state.last_record
        if before is None or self.state.is_running:
            return False
        changed = Fix.from_dict(fix).apply(self.state.config.attack)
        self._before, self._fix = (before, self.diagnosis), dict(fix)
        self._pending_fix_run = True
        values = changed.to_dict()
        self.state.set_settings(values)
        self.fixStarted.emit(dict(fix))
        if not self.state.start():
            self._pending_fix_run = False
            self._before, self._fix = None, None
            return False
        minimal = _is_minimal(before.config.attack) or _is_minimal(changed)
        self.comparisonChanged.emit(comparison_rows(outcome_rows(*self._before), None, minimal))
        return True

    def _show_comparison(self, after_record) -> None:
        before_record = self._before[0]
        minimal = _is_minimal(before_record.config.attack) or _is_minimal(after_record.config.attack)
        self.comparisonChanged.emit(comparison_rows(outcome_rows(*self._before),
                                                    outcome_rows(after_record, self.diagnosis), minimal))

    def shutdown(self) -> None:
        self._cancel_probes()
