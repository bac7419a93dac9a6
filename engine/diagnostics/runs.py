"""Diagnose finished runs, sets of images and sweep points: telemetry plus the probes that need the model.

`diagnose_record` is what the CLI and the GUI's engine call after `execute`; `diagnose_arrays` serves
sweeps, whose pieces return plain arrays rather than records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from ..config import AttackConfig
from ..record import RunRecord
from .indicators import RunDiagnosis
from .judge import diagnose, final_adversarial
from .probes import DiagnosticsOptions, ProbeResults, run_probes


def norms_of(original: np.ndarray, adversarial: np.ndarray, norm: str) -> list[float]:
    """The returned perturbations' sizes in `norm`, per image (numpy, like the record's own)."""
    delta = (np.asarray(adversarial, np.float64) - np.asarray(original, np.float64)).reshape(len(original), -1)
    if norm == "linf":
        values = np.abs(delta).max(axis=1)
    elif norm == "l1":
        values = np.abs(delta).sum(axis=1)
    else:
        values = np.sqrt((delta**2).sum(axis=1))
    return [float(v) for v in values]


def diagnose_arrays(model, original: torch.Tensor, adversarial: torch.Tensor, labels: torch.Tensor,
                    config: AttackConfig, success: Sequence[bool], metrics: Mapping[str, np.ndarray],
                    options: DiagnosticsOptions | None = None, probes: ProbeResults | None = None,
                    should_stop: Callable[[], bool] | None = None) -> tuple[RunDiagnosis, ProbeResults]:
    """The diagnosis of one attack on a batch of images; the probes are run unless given."""
    options = options or DiagnosticsOptions()
    ok = torch.as_tensor(list(success), dtype=torch.bool)
    device = getattr(model, "device", original.device)
    with torch.no_grad():
        preds = torch.cat([model(adversarial[i:i + options.batch].to(device)).argmax(1).cpu()
                           for i in range(0, len(adversarial), max(1, options.batch))]) if len(adversarial) else \
            torch.zeros(0, dtype=torch.long)
    if probes is None:
        probes = run_probes(model, original, adversarial, labels, config, ok, options, should_stop)
    finals = final_adversarial(preds.tolist(), labels.tolist(), config.target)
    norms = norms_of(original.cpu().numpy(), adversarial.cpu().numpy(), config.norm)
    classes = len(getattr(model, "labels", [])) or None
    diagnosis = diagnose(metrics, config, [bool(s) for s in ok], finals, norms, probes if options.probes else None,
                         classes)
    return diagnosis, probes


def diagnose_record(record: RunRecord, model, options: DiagnosticsOptions | None = None,
                    should_stop: Callable[[], bool] | None = None) -> RunDiagnosis:
    """The diagnosis of a finished run record, on the model it attacked (for the probes)."""
    options = options or DiagnosticsOptions()
    config = record.config.attack
    notes = []
    if record.status != "finished":
        notes.append(f"the run was {record.status}: indicators describe the steps it took")
    if not record.metrics or "margin" not in record.metrics:
        return RunDiagnosis(config.attack, config.norm, notes=notes + ["the record holds no per-step telemetry"])
    original = torch.from_numpy(np.asarray(record.original, np.float32))
    adversarial = torch.from_numpy(np.asarray(record.adversarial, np.float32))
    labels = torch.as_tensor(record.labels, dtype=torch.long)
    success = list(record.success)
    probes = None
    if not options.probes:
        probes = ProbeResults("")
    diagnosis, _ = diagnose_arrays(model, original, adversarial, labels, config, success, record.metrics,
                                   options, probes, should_stop)
    finals = final_adversarial(record.adv_pred, record.labels, config.target)
    if any(f != s for f, s in zip(finals, success, strict=True)):
        notes.append("the attack's own verdict and a fresh evaluation of the returned image disagree for "
                     f"{sum(f != s for f, s in zip(finals, success, strict=True))} image(s)")
    diagnosis.notes = notes + diagnosis.notes
    return diagnosis


def diagnose_set(model, images: torch.Tensor, labels: torch.Tensor, config: AttackConfig,
                 options: DiagnosticsOptions | None = None,
                 should_stop: Callable[[], bool] | None = None) -> tuple[RunDiagnosis, torch.Tensor, torch.Tensor]:
    """Attack a set of images batch by batch, keeping the telemetry, and diagnose the result:
    (diagnosis, adversarial images, success). Scripts and tests use it; the GUI and CLI diagnose records."""
    from ..batches import run_attack_on
    from ..catalogue import check_attack
    from .trace import StepTrace

    options = options or DiagnosticsOptions()
    config = check_attack(config)
    trace = StepTrace()
    adversarial, success = run_attack_on(model, images, labels, config, batch=options.batch,
                                         should_stop=should_stop, trace=trace)
    diagnosis, _ = diagnose_arrays(model, images, adversarial, labels, config, success.tolist(), trace.metrics(),
                                   options, should_stop=should_stop)
    return diagnosis, adversarial, success


def sweep_probes(model, images: torch.Tensor, labels: torch.Tensor, config: AttackConfig,
                 options: DiagnosticsOptions | None = None,
                 should_stop: Callable[[], bool] | None = None) -> ProbeResults:
    """The probes a sweep over budgets needs once: gradients and noise at the clean images, and DeepFool on
    every image (its perturbation is then compared with each budget)."""
    nothing = torch.zeros(len(images), dtype=torch.bool)
    return run_probes(model, images, images, labels, config, nothing, options, should_stop)


def diagnose_sweep_point(config: AttackConfig, success: Sequence[bool], metrics: Mapping[str, np.ndarray] | None,
                         norms: Mapping[str, Sequence[float]] | None, probes: ProbeResults | None,
                         num_classes: int | None) -> RunDiagnosis:
    """One budget of a sweep, from its job's plain results and the sweep's probes. The job kept no
    images, so the attack's own verdict stands in for a fresh evaluation of the returned ones."""
    if not metrics or "margin" not in metrics:
        return RunDiagnosis(config.attack, config.norm, notes=["the sweep's jobs kept no telemetry"])
    ok = [bool(s) for s in success]
    attack_norms = list(norms[config.norm]) if norms and config.norm in norms else None
    if probes is not None and not probes.probed:
        probes = None
    return diagnose(metrics, config, ok, ok, attack_norms, probes, num_classes)
