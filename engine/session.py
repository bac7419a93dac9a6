"""One attack run from a configuration: prepare the job, execute it step by step, build the record.

The CLI, the tests and the GUI's worker thread all go through `prepare_job` and `execute`; the GUI
only adds a `JobControl` (pause, single step, cancel) and reads the `Telemetry` on a timer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .attacks import AttackRun, Step, build_attack
from .catalogue import attack_spec, check_attack, gradients_refusal
from .compute import check_compute, compute_model
from .config import RunConfig
from .criteria import make_criterion
from .device import device_name
from .errors import AdvLensError, ConfigError, ModelOutputError, as_engine_error
from .images import check_filter, resample
from .jobs import JobControl, JobHandle, JobWorker
from .loaders import load_model
from .metrics import TOP_K
from .model import Model
from .norms import lp_norm
from .record import RunRecord
from .samples import SAMPLE_PREFIX, resolve_image, sample_label
from .telemetry import Telemetry, TelemetryWriter


@dataclass
class AttackJob:
    """Everything a run needs, loaded and checked: plain data plus tensors on the model's device."""

    config: RunConfig
    model: Model
    images: torch.Tensor  # (N, C, H, W) in [0, 1]
    labels: torch.Tensor  # (N,)
    clean_logits: torch.Tensor | None = None  # from prepare_job's check, so execute need not run it again
    notes: list[str] = field(default_factory=list)  # what a person should know about this run (said once)


def default_label(spec: str) -> int | None:
    """The known true class of a bundled sample, None for a user's image."""
    text = str(spec)
    return sample_label(text[len(SAMPLE_PREFIX):]) if text.startswith(SAMPLE_PREFIX) else None


def check_gradients(attack: str, model: Model) -> None:
    """A gradient attack on a model without gradients (ONNX in onnxruntime) is refused, saying why."""
    refusal = gradients_refusal(attack, model.card.display_name, model.kind, model.gradients_available)
    if refusal is not None:
        raise ConfigError(refusal)


def prepare_job(config: RunConfig, model: Model | None = None, image: torch.Tensor | None = None,
                label: int | Sequence[int] | torch.Tensor | None = None) -> AttackJob:
    """Load (unless given) and check the model and image(s); resample; pick the labels to attack.

    Without a known label (a user's photo) the attack moves the model away from its own clean
    prediction, which is what "fooling the model" means when no ground truth exists. A model with a
    fixed input size decides the resolution (the image is resampled to it, and a note says so).
    """
    config.attack = check_attack(config.attack)
    check_filter(config.resample_filter)
    if model is not None:
        check_gradients(config.attack.attack, model)
    if config.resolution is not None and not 4 <= int(config.resolution) <= 4096:
        raise ConfigError(f"resolution must be between 4 and 4096 pixels, got {config.resolution}")
    if model is None:
        model = load_model(config.model, config.device)
        check_gradients(config.attack.attack, model)
    device = model.device
    notes = []
    if model.input_size is not None and config.resolution != model.input_size:
        config.resolution = model.input_size
        notes.append(f"{model.card.display_name} takes {model.input_size}x{model.input_size} images: "
                     f"the image is resampled to that size")
    if image is None:
        image = resolve_image(config.image, config.resolution, config.resample_filter)
        if label is None:
            label = default_label(config.image)
    elif config.resolution is not None:
        image = resample(image, int(config.resolution), config.resample_filter)
    images = (image[None] if image.dim() == 3 else image).to(device, torch.float32).contiguous()
    if images.shape[1] != model.input_channels and {images.shape[1], model.input_channels} != {1, 3}:
        raise ModelOutputError(f"{model.card.display_name} expects {len(model.card.mean)} colour channels, "
                               f"the image has {images.shape[1]}")
    with torch.no_grad():
        clean = model.checked_logits(images)
    if label is None:
        labels = clean.argmax(dim=1)
    else:
        labels = torch.as_tensor(label, dtype=torch.long, device=device).reshape(-1).expand(images.shape[0]).clone()
        bad = labels[(labels < 0) | (labels >= model.num_classes)]
        if len(bad):
            raise ConfigError(f"label {int(bad[0])} is not a class of {model.card.display_name} "
                              f"(0..{model.num_classes - 1})")
    notes += check_compute(config, device)
    if config.fast and not build_attack(config.attack).has_fast_step:
        notes.append(f"the fast mode covers PGD, BIM and FGSM: {attack_spec(config.attack.attack).title} "
                     f"runs step by step as usual")
    target = config.attack.target
    if target is not None and target >= model.num_classes:
        raise ConfigError(f"target class {target} does not exist: {model.card.display_name} has "
                          f"{model.num_classes} classes (0..{model.num_classes - 1})")
    return AttackJob(config=config, model=model, images=images, labels=labels, clean_logits=clean, notes=notes)


def execute(job: AttackJob, telemetry: TelemetryWriter | None = None, control: JobControl | None = None) -> RunRecord:
    """Run the attack step by step; returns the record (status 'cancelled' if stopped early).

    Per step the loop only hands the step's logits to the telemetry and asks whether a frame is due;
    the frame (norms, top-k, the shown image) is computed when it is, and for the last step. The
    result's logits, when the attack has them, give the adversarial prediction without another forward.
    """
    cfg = job.config.attack
    x = job.images
    model = compute_model(job.model, job.config)
    if job.config.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)  # iterates keep it: no conversion per forward
    telemetry = telemetry if telemetry is not None else Telemetry(batch=x.shape[0])
    control = control or JobControl()
    generator = torch.Generator(device=x.device).manual_seed(cfg.seed)
    criterion = make_criterion(job.labels, cfg.target)
    run = AttackRun(build_attack(cfg, fast=job.config.fast), model, x, criterion, generator)
    telemetry.begin(criterion)
    unframed: list[Step] = []  # the newest step, while it has no frame

    def show_newest() -> None:
        if unframed:
            telemetry.offer_frame(unframed.pop().frame())

    start = time.perf_counter()
    status = "finished"
    try:
        if job.clean_logits is not None and job.clean_logits.shape[0] == x.shape[0]:
            clean_probs = job.clean_logits.softmax(dim=1)
        else:
            with torch.no_grad():
                clean_probs = model(x).softmax(dim=1)
        while True:
            if not control.wait_to_continue(show_newest):
                run.cancel()
                status = "cancelled"
                break
            try:
                step = next(run)
            except StopIteration:
                break
            telemetry.push(step.index, step.logits)
            if telemetry.frame_due():
                telemetry.offer_frame(step.frame())
                unframed.clear()
            else:
                unframed[:] = [step]
        show_newest()  # the last step always has its frame (the record's final norms, the final display)
        telemetry.end()
        result_logits = None
        if run.result is not None:
            x_adv, success, result_logits = run.result.x_adv, run.result.success, run.result.logits
        elif run.last_step is not None:
            x_adv, success, result_logits = run.last_step.x_adv, run.last_step.success, run.last_step.logits
        else:
            x_adv, success = x.clone(), torch.zeros(x.shape[0], dtype=torch.bool, device=x.device)
            result_logits = job.clean_logits if job.clean_logits is not None else None
        if result_logits is None:
            with torch.no_grad():
                result_logits = model(x_adv)
        adv_probs = result_logits.softmax(dim=1)
    except AdvLensError:
        raise
    except Exception as exc:  # noqa: BLE001 - the one translator words it (out of memory, a model failure)
        raise as_engine_error(exc) from exc
    duration = time.perf_counter() - start
    delta = x_adv - x
    clean_conf, clean_pred = clean_probs.max(dim=1)
    adv_conf, adv_pred = adv_probs.max(dim=1)
    adv_top = adv_probs.topk(min(TOP_K, adv_probs.shape[1]), dim=1)
    return RunRecord(
        config=job.config,
        model_name=job.model.card.name,
        class_names=list(job.model.labels),
        device=device_name(x.device),
        labels=job.labels.tolist(),
        clean_pred=clean_pred.tolist(),
        clean_conf=clean_conf.tolist(),
        adv_pred=adv_pred.tolist(),
        adv_conf=adv_conf.tolist(),
        success=success.tolist(),
        norms={
            "l0": lp_norm(delta, "l0").long().tolist(),
            "l2": lp_norm(delta, "l2").tolist(),
            "linf": lp_norm(delta, "linf").tolist(),
        },
        status=status,
        steps_run=run.last_step.index if run.last_step is not None else 0,
        duration_s=round(duration, 4),
        original=x.detach().cpu().contiguous().numpy().astype(np.float32),
        adversarial=x_adv.detach().cpu().contiguous().numpy().astype(np.float32),
        metrics=telemetry.metrics(),
        adv_topk_index=adv_top.indices.tolist(),
        adv_topk_prob=adv_top.values.tolist(),
    )


def run_attack(config: RunConfig, model: Model | None = None, image: torch.Tensor | None = None,
               label: int | Sequence[int] | torch.Tensor | None = None) -> RunRecord:
    """Prepare and execute in one call (CLI, tests, scripts)."""
    return execute(prepare_job(config, model, image, label))


def submit_attack(worker: JobWorker, job: AttackJob, paused: bool = False,
                  telemetry: Telemetry | None = None) -> JobHandle:
    """Run `execute` on a job worker; the handle carries the run's telemetry and control."""
    telemetry = telemetry if telemetry is not None else Telemetry(batch=job.images.shape[0])
    return worker.submit(lambda control: execute(job, telemetry, control), paused=paused, telemetry=telemetry,
                         job=job)
