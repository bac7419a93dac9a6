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
from .images import check_filter
from .jobs import JobControl, JobHandle, JobWorker
from .loaders import load_model
from .metrics import TOP_K
from .model import Model
from .model_input import fitted_image, input_fit
from .norms import lp_norm
from .record import RunRecord
from .samples import SAMPLE_PREFIX, sample_label
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


def default_label(spec: str, labels: Sequence[str] | None = None) -> int | None:
    """The known true class of a bundled sample, None for a user's image. With a model's `labels`, the
    sample's class among them (None when the model has no such class: a star is no ImageNet class)."""
    text = str(spec)
    if not text.startswith(SAMPLE_PREFIX):
        return None
    name = text[len(SAMPLE_PREFIX):]
    index = sample_label(name)
    if labels is None:
        return index
    if 0 <= index < len(labels) and labels[index] == name:
        return index
    return list(labels).index(name) if name in labels else None


def check_gradients(attack: str, model: Model) -> None:
    """A gradient attack on a model without gradients (ONNX in onnxruntime) is refused, saying why."""
    refusal = gradients_refusal(attack, model.card.display_name, model.kind, model.gradients_available)
    if refusal is not None:
        raise ConfigError(refusal)


def prepare_job(config: RunConfig, model: Model | None = None, image: torch.Tensor | None = None,
                label: int | Sequence[int] | torch.Tensor | None = None) -> AttackJob:
    """Load (unless given) and check the model and image(s); fit them to the model; pick the labels to attack.

    Without a known label (a user's photo) the attack moves the model away from its own clean
    prediction, which is what "fooling the model" means when no ground truth exists. The model's
    input size decides the resolution, and a photo is fitted to it as the model's own preprocessing does
    (`model_input.input_fit`: resize-then-centre-crop where its card says so); the notes say so.
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
    fitting = input_fit(model, config.resolution, config.resample_filter, config.fit)
    config.resolution = fitting.size
    notes = list(fitting.notes)
    if image is None:
        image = fitted_image(config.image, fitting, config.resample_filter, notes)
        if label is None:
            label = default_label(config.image, model.labels)
    else:
        if fitting.size is not None and tuple(image.shape[-2:]) != (fitting.size, fitting.size):
            notes += fitting.photo_notes
        image = fitting.apply(image)
    images = (image[None] if image.dim() == 3 else image).to(device, torch.float32).contiguous()
    if images.shape[1] != model.input_channels and {images.shape[1], model.input_channels} != {1, 3}:
        raise ModelOutputError(f"{model.card.display_name} expects {len(model.card.mean)} colour channels, "
                               f"the image has {images.shape[1]}")
    with torch.no_grad():
        clean = model.checked_logits(images)
    if label is None:
        labels = clean.argmax(dim=1)
        notes.append(f"no true class is known for this image: the attack moves {model.card.display_name} away "
                     f"from its own clean prediction ({model.label(int(labels[0]))})")
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


def prediction(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(class, its probability) per image: the argmax of the logits, the criteria's own reading."""
    pred = logits.argmax(dim=1)
    return pred, logits.softmax(dim=1).gather(1, pred[:, None])[:, 0]


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
            clean_logits = job.clean_logits
        else:
            with torch.no_grad():
                clean_logits = model(x)
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
        adv_logits = result_logits
    except AdvLensError:
        raise
    except Exception as exc:  # noqa: BLE001 - the one translator words it (out of memory, a model failure)
        raise as_engine_error(exc) from exc
    duration = time.perf_counter() - start
    delta = x_adv - x
    # The prediction is the argmax of the logits, as the attack's criterion judges it; taking it from the
    # probabilities instead disagrees when a near-constant model's scores tie after the softmax.
    clean_pred, clean_conf = prediction(clean_logits)
    adv_pred, adv_conf = prediction(adv_logits)
    adv_probs = adv_logits.softmax(dim=1)
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
            "l1": lp_norm(delta, "l1").tolist(),
            "l2": lp_norm(delta, "l2").tolist(),
            "linf": lp_norm(delta, "linf").tolist(),
        },
        status=status,
        steps_run=run.last_step.index if run.last_step is not None else 0,
        duration_s=round(duration, 4),
        original=x.detach().cpu().contiguous().numpy().astype(np.float32),
        adversarial=x_adv.detach().cpu().contiguous().numpy().astype(np.float32),
        metrics=telemetry.metrics(),
        model_notes=list(job.model.notes),
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
