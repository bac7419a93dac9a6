"""The Resolution lab: do minimal adversarial perturbations shrink as image resolution grows (Dube)?

For each resolution s and each image: the same scene at s x s (rendered natively, or area-downsampled
from one photo), seen natively by the model; the smallest L2 and Linf perturbations a near-minimal
attack finds; their raw, relative, RMS norms; the input-gradient norms. Then log-log slopes against s
with bootstrap intervals, compared with what each reading of the claim predicts (SCIENCE.md).

Two model choices: one multi-resolution model for every size (the default, the demo), or the
per-resolution control, a model trained only at each size (`config.models`; the bundled demo-rN).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import AttackConfig
from ..criteria import Misclassification
from ..demo.shapes import eval_seeds, render_batch
from ..diagnostics.labs import resolution_lab_indicators
from ..errors import Cancelled, ConfigError, ImageLoadError
from ..executor import Executor, JobGroup, SweepJob, array_of, finished
from ..images import IMAGE_SUFFIXES, load_image, resample
from ..jobs import Progress
from ..loaders import load_model
from ..model import Model
from ..norms import clip_perturbation, lp_norm, normalize_gradient, project, random_in_ball
from ..samples import SAMPLE_PREFIX, load_sample, sample_label
from .resolution_results import (  # noqa: F401 - re-exported: the lab's public names stay importable from here
    ATTACKS,
    CLEAN_METRICS,
    CONDITIONS,
    CPU_RESOLUTIONS,
    DEFAULT_RESOLUTIONS,
    FIRST_ORDER_METRICS,
    GRADIENT_METRICS,
    Measurement,
    ResolutionLabConfig,
    ResolutionLabResult,
)
from .slopes import SlopeFit, median_slope_with_interval, verdict


class ResizedModel(Model):
    """A fixed-size model behind a resize, so it accepts every resolution (the lab says so)."""

    def __init__(self, inner: Model):
        super().__init__(inner.network, inner.card)
        self.size = int(inner.card.input_size)
        self.card = inner.card
        if inner.source is not None:  # a cluster worker loads the inner model and wraps it the same way
            self.source = replace(inner.source, wrap="resize")
        self.to(inner.device)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.size or images.shape[-2] != self.size:
            images = F.interpolate(images, size=(self.size, self.size), mode="bilinear", align_corners=False,
                                   antialias=True)
        return super().forward(images)

    def checked_logits(self, images: torch.Tensor) -> torch.Tensor:
        return self(images)


def _scenes(config: ResolutionLabConfig) -> tuple[list[str], callable, torch.Tensor | None]:
    """(names, render(size) -> (N,3,s,s), known labels or None) for the configured image set."""
    spec = config.images
    if spec.startswith("demo:"):
        try:
            count = int(spec.split(":", 1)[1])
        except ValueError as exc:
            raise ConfigError(f"expected demo:N, got '{spec}'") from exc
        seeds = eval_seeds(count, offset=2000)
        labels = torch.from_numpy(render_batch(seeds[:count], 8)[1])

        def render(size: int) -> torch.Tensor:
            return torch.from_numpy(render_batch(seeds, size)[0])

        return [f"demo:{s}" for s in seeds], render, labels
    if spec.startswith(SAMPLE_PREFIX):
        name = spec[len(SAMPLE_PREFIX):]
        label = torch.tensor([sample_label(name)])
        return [spec], lambda size: load_sample(name, size)[None], label
    folder = Path(spec)
    if not folder.is_dir():
        raise ConfigError(f"images must be demo:N, sample:NAME or a folder; '{spec}' is none of these")
    originals, names = [], []
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        try:
            originals.append(load_image(path))
            names.append(path.name)
        except ImageLoadError:
            continue
    if not originals:
        raise ConfigError(f"no readable images in {folder}")
    return names, lambda size: torch.stack([resample(im, size, "area") for im in originals]), None


def _clean_gradients(model: Model, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per image: the cross-entropy's input-gradient norms (Simon-Gabriel et al.'s measure) and the
    first-order minimal perturbations margin / ‖∇ margin‖_q (q the dual norm), from one forward."""
    xr = x.detach().requires_grad_(True)
    criterion = Misclassification(y)
    with torch.enable_grad():
        logits = model(xr)
        (ce_grad,) = torch.autograd.grad(criterion.loss(logits).sum(), xr, retain_graph=True)
        margin = criterion.margin(logits)
        (margin_grad,) = torch.autograd.grad(margin.sum(), xr)
    margin = margin.detach()
    return {
        "grad_l1": lp_norm(ce_grad, "l1"), "grad_l2": lp_norm(ce_grad, "l2"),
        "first_order_l2": margin / lp_norm(margin_grad, "l2").clamp_min(1e-12),
        "first_order_linf": margin / lp_norm(margin_grad, "l1").clamp_min(1e-12),
    }


def bisect_pgd(model: Model, x: torch.Tensor, y: torch.Tensor, norm: str, steps: int = 10, iterations: int = 10,
               seed: int = 0,
               should_stop: Callable[[], bool] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimal perturbation by bisection over each image's budget, a PGD at each budget; every
    adversarial iterate seen is a candidate, the smallest one is kept. `should_stop()` is asked
    before every step (`Cancelled` once it says so)."""
    n = x.shape[0]
    lo, hi = torch.zeros(n, device=x.device), lp_norm(torch.maximum(x, 1 - x), norm)
    best = x.clone()
    best_norm = torch.full((n,), float("inf"), device=x.device)
    criterion = Misclassification(y)
    g = torch.Generator(device=x.device).manual_seed(seed)

    def consider(x_adv: torch.Tensor, adversarial: torch.Tensor) -> None:
        nonlocal best, best_norm
        norms = lp_norm(x_adv - x, norm)
        better = adversarial & (norms < best_norm)
        best = torch.where(better.reshape(-1, 1, 1, 1), x_adv, best)
        best_norm = torch.where(better, norms, best_norm)

    for _ in range(iterations):
        eps = (lo + hi) / 2
        x_adv = (x + project(random_in_ball(x.shape, norm, 1.0, g, x.device), norm, eps * 0.5)).clamp(0, 1)
        alpha = (2.5 * eps / steps).reshape(-1, 1, 1, 1)
        success = torch.zeros(n, dtype=torch.bool, device=x.device)
        for _ in range(steps):
            if should_stop is not None and should_stop():
                raise Cancelled("cancelled")
            xr = x_adv.detach().requires_grad_(True)
            with torch.enable_grad():
                logits = model(xr)
                (grad,) = torch.autograd.grad(criterion.loss(logits).sum(), xr)
            hit = criterion.is_adversarial(logits.detach())
            consider(x_adv.detach(), hit)
            success |= hit
            x_adv = clip_perturbation(x, x_adv.detach() + alpha * normalize_gradient(grad, norm), norm, eps)
        with torch.no_grad():
            hit = criterion.is_adversarial(model(x_adv))
        consider(x_adv, hit)
        success |= hit
        hi = torch.where(success, eps, hi)
        lo = torch.where(success, lo, eps)
    return best, torch.isfinite(best_norm)


def _minimal_job(key: str, x: torch.Tensor, y: torch.Tensor, config: ResolutionLabConfig, norm: str,
                 size: int) -> SweepJob:
    """The near-minimal attack on one resolution's correct images for one norm, as an executor job."""
    if config.attack == "pgd-bisect":
        attack = {"attack": "pgd", "norm": norm, "steps": max(config.steps // 5, 5), "seed": config.seed}
        method = "pgd-bisect"
    else:
        attack = AttackConfig(attack=config.attack, norm=norm, steps=config.steps, seed=config.seed).to_dict()
        method = "attack"
    return SweepJob(key, attack, array_of(x), array_of(y), seed=config.seed, batch=config.batch,
                    method=method, tag=f"{size}px {norm}")


def model_notes(model: Model, mode: str, config: ResolutionLabConfig) -> list[str]:
    """What the reader must know to interpret the slopes of one model seeing every resolution, in words."""
    card = model.card
    notes = [f"Mode: one model for every resolution ({card.name}). The slopes measure how this one set of "
             "weights responds to finer samplings, including how it trades off the scales it was trained on; "
             "the per-resolution control (a model trained only at each size) separates that from resolution."]
    if mode == "resize":
        larger = [s for s in config.resolutions if s > card.input_size]
        if len(larger) == len(config.resolutions):
            how = "every size is shrunk to it, and bilinear shrinking forces raw L2 towards +1"
        elif not larger:
            how = "every size is enlarged to it, so the model sees no more detail at any size than the smallest gives"
        else:
            how = (f"sizes above {card.input_size} px are shrunk (which forces raw L2 towards +1), "
                   f"the others enlarged")
        notes.append(f"{card.display_name} has a fixed input size ({card.input_size} px): every resolution is "
                     "resized to it inside the model, so the slopes measure the resize, not the model's "
                     f"sensitivity to resolution ({how}).")
    else:
        trained = f"; it was trained at {card.input_size} px" if card.input_size else ""
        notes.append(f"{card.display_name} accepts any size (global pooling): it sees every resolution "
                     f"natively{trained}.")
    if card.receptive_field_px:
        notes.append(f"Its receptive field is {card.receptive_field_px} px: at larger sizes a unit sees a smaller "
                     "share of the image, so one multi-resolution model also changes what it looks at as s grows.")
    if card.train_sizes:
        lo, hi = min(card.train_sizes), max(card.train_sizes)
        outside = [s for s in config.resolutions if s < lo or s > hi]
        notes.append(f"It was trained at {lo}-{hi} px" + (f"; {outside} lie outside that range." if outside else "."))
    return notes + _setting_notes(config)


def control_notes(by_size: dict[int, Model], missing: list[int], config: ResolutionLabConfig) -> list[str]:
    """What the reader must know about the per-resolution control: a different model at each size."""
    listing = ", ".join(f"{s} px: {m.card.name}" for s, m in sorted(by_size.items()))
    notes = [f"Mode: per-resolution control models, each resolution attacked on a model trained at that size "
             f"({listing}). No set of weights has to serve several scales, so the slopes measure how minimal "
             "perturbations scale across models that each see only their own resolution (Simon-Gabriel et "
             "al.'s design: the same CNN trained at each size). Each size is a separate training run: the "
             "slopes also carry run-to-run and training-length differences (see each model's card), which the "
             "bootstrap over images does not include."]
    if missing:
        notes.append(f"No model trained at {', '.join(str(s) for s in missing)} px: "
                     f"{'that resolution is' if len(missing) == 1 else 'those resolutions are'} skipped.")
    resized = [s for s, m in by_size.items() if m.fixed_input_size is not None and m.fixed_input_size != s]
    if resized:
        notes.append(f"At {resized} px the model has another fixed input size and sees the image through a resize: "
                     "those points measure the resize, not resolution.")
    off = [f"{m.card.name} at {s} px" for s, m in sorted(by_size.items())
           if m.card.train_sizes and s not in m.card.train_sizes]
    if off:
        notes.append(f"Not trained at the size it is attacked at: {', '.join(off)}.")
    mixed = [f"{m.card.name} at {s} px" for s, m in sorted(by_size.items()) if len(set(m.card.train_sizes)) > 1]
    if mixed:
        notes.append(f"Trained at several sizes, not only the one it is attacked at: {', '.join(mixed)}.")
    fields_px = {m.card.receptive_field_px for m in by_size.values()}
    if len(fields_px) == 1 and None not in fields_px:
        notes.append(f"All have a receptive field of {fields_px.pop()} px, fixed in pixels: relative to the image "
                     "it shrinks as s grows, as for one model. The control changes the weights, not the "
                     "architecture.")
    return notes + _setting_notes(config)


def _setting_notes(config: ResolutionLabConfig) -> list[str]:
    """Notes on the images, condition and attack, the same in both modes."""
    notes = []
    if not (config.images.startswith("demo:") or config.images.startswith(SAMPLE_PREFIX)):
        notes.append("Your images carry no labels: at each resolution the attack moves the model away from "
                     "its own clean prediction, so no image is skipped.")
    if config.condition == "nearest-upsampled":
        notes.append(f"Condition: nearest-neighbour upsampling of the {config.resolutions[0]} px images "
                     "(adds no detail); a control, not the claim's setting.")
    else:
        notes.append("Condition: each resolution is the same scene sampled more finely "
                     "(demo scenes are drawn natively; photos are area-downsampled).")
    notes.append(f"Attack: {config.attack.upper()} ({config.steps} steps), a near-minimal search: its norms are "
                 "upper bounds on the true minimal perturbation. Misclassified images are skipped and counted.")
    return notes


def _seen_natively(model: Model) -> tuple[Model, str]:
    """The model as the lab runs it: a fixed-size one behind a resize (mode 'resize'), else as it is."""
    if model.fixed_input_size is None:
        return model, "native"
    return ResizedModel(model), "resize"


def _load_control_models(config: ResolutionLabConfig) -> tuple[dict[int, Model], list[int]]:
    """{size: model trained at it} for the configured resolutions that have one, and those that have none."""
    loaded: dict[str, Model] = {}
    by_size: dict[int, Model] = {}
    for size in config.resolutions:
        spec = config.models.get(size)
        if spec is None:
            continue
        if spec not in loaded:
            loaded[spec] = load_model(spec, config.device)
        by_size[size] = loaded[spec]
    return by_size, [s for s in config.resolutions if s not in by_size]


@dataclass
class _Scenes:
    """One resolution's images and clean measurements, kept until its jobs' results are read."""

    size: int
    correct: torch.Tensor
    idx: torch.Tensor
    x: torch.Tensor
    clean: dict[str, torch.Tensor]
    futures: list


def run_resolution_lab(config: ResolutionLabConfig, model: Model | None = None,
                       progress: Progress | None = None,
                       executor: Executor | None = None) -> ResolutionLabResult:
    """Measure every (image, resolution, norm), one executor job per resolution and norm (default: an
    in-process pool for this call); report partial results after each, in order.

    One model sees every resolution (`model`, else `config.model`), or, with `config.models`, each
    resolution is attacked on the model trained at that size (the control); sizes without one are skipped.

    The next resolution is rendered and submitted while the current one's jobs run, so the executor is
    never idle and at most two resolutions' images are held at once.
    """
    config = config.validated()
    if config.per_resolution:
        if model is not None:
            raise ConfigError("per-resolution mode loads the model trained at each size: pass no single model")
        loaded, missing = _load_control_models(config)
        config = replace(config, resolutions=sorted(loaded))
        by_size: dict[int, Model] = {}
        modes = set()
        for size, each in loaded.items():
            native = each.fixed_input_size in (None, size)
            by_size[size] = each if native else ResizedModel(each)
            modes.add("native" if native else "resize")
        mode = "resize" if "resize" in modes else "native"
        title = "per-resolution models (" + ", ".join(f"{s} px: {m.card.name}" for s, m in loaded.items()) + ")"
        notes = control_notes(loaded, missing, config)
    else:
        model, mode = _seen_natively(model if model is not None else load_model(config.model, config.device))
        by_size, missing, title = dict.fromkeys(config.resolutions, model), [], model.card.name
        notes = model_notes(model, mode, config)
    names, render, known = _scenes(config)
    result = ResolutionLabResult(config, title, mode, notes, names, missing_models=missing,
                                 models={s: m.card.name for s, m in by_size.items()})
    result.total = len(config.resolutions) * len(config.norms)
    base = render(config.resolutions[0]) if config.condition == "nearest-upsampled" else None
    stop = (lambda: progress.cancelled) if progress is not None else None
    with JobGroup(executor, stop) as jobs:
        keys: dict[int, str] = {}
        for each in {id(m): m for m in by_size.values()}.values():
            key = jobs.register_model(each)
            keys.update({s: key for s, m in by_size.items() if m is each})

        def prepare(size: int) -> _Scenes:
            model = by_size[size]
            if base is not None:
                x_all = (F.interpolate(base, size=(size, size), mode="nearest-exact")
                         if size != base.shape[-1] else base)
            else:
                x_all = render(size)
            device = model.device
            with torch.no_grad():
                preds = torch.cat([model(x_all[i : i + config.batch].to(device)).argmax(1).cpu()
                                   for i in range(0, len(x_all), config.batch)])
            labels = known if known is not None else preds  # no ground truth: attack its own prediction
            correct = preds == labels
            idx = correct.nonzero()[:, 0]
            x, y = x_all[idx], labels[idx]
            clean: dict[str, torch.Tensor] = {}
            if len(idx):
                clean = {k: v.cpu() for k, v in _clean_gradients(model, x.to(device), y.to(device)).items()}
            futures = [jobs.submit(_minimal_job(keys[size], x, y, config, norm, size)) if len(idx)
                       else finished(None) for norm in config.norms]
            return _Scenes(size, correct, idx, x, clean, futures)

        def measure(scenes: _Scenes) -> None:
            size, correct, idx, x, clean = scenes.size, scenes.correct, scenes.idx, scenes.x, scenes.clean
            result.skipped[size] = int((~correct).sum())
            result.clean_accuracy[size] = float(correct.float().mean())
            for norm, future in zip(config.norms, scenes.futures, strict=True):
                found_by_job = jobs.result(future)
                if found_by_job is not None:
                    adv = torch.from_numpy(found_by_job.adversarial)
                    ok = torch.from_numpy(found_by_job.success)
                    _record(result, names, size, norm, idx, x, adv, ok, clean)
                for i in (~correct).nonzero()[:, 0].tolist():
                    nan = float("nan")
                    result.measurements.append(Measurement(names[i], size, norm, False, False,
                                                           nan, nan, nan, nan, model=result.models[size]))
                result.done += 1
                result.diagnostics = resolution_lab_indicators(result.measurements)
                _refit(result)
                if progress is not None:
                    progress.report(result.done, result.total, result)

        waiting: deque[_Scenes] = deque()
        for size in config.resolutions:
            if progress is not None:
                progress.check()
            waiting.append(prepare(size))
            if len(waiting) > 1:
                measure(waiting.popleft())
        while waiting:
            measure(waiting.popleft())
    _refit(result, boot=config.bootstrap)
    return result


def _record(result: ResolutionLabResult, names: list[str], size: int, norm: str, idx: torch.Tensor,
            x: torch.Tensor, adv: torch.Tensor, ok: torch.Tensor, clean: dict[str, torch.Tensor]) -> None:
    """The measurements of one resolution and norm for the correctly classified images, and the strip."""
    delta = adv - x
    l2 = lp_norm(delta, "l2")
    linf = lp_norm(delta, "linf")
    xnorm = lp_norm(x, "l2").clamp_min(1e-12)
    values = math.sqrt(x[0].numel())
    for k, i in enumerate(idx.tolist()):
        found = bool(ok[k])
        nan = float("nan")
        result.measurements.append(Measurement(
            names[i], size, norm, True, found,
            float(l2[k]) if found else nan, float(l2[k] / xnorm[k]) if found else nan,
            float(l2[k]) / values if found else nan, float(linf[k]) if found else nan,
            **{name: float(clean[name][k]) for name in CLEAN_METRICS}, model=result.models[size]))
    if norm == "l2" and bool(ok.any()):
        first = int(ok.nonzero()[0, 0])
        if not result.strip_image:
            result.strip_image = names[int(idx[first])]
        pick = [k for k, i in enumerate(idx.tolist()) if names[i] == result.strip_image]
        if pick and bool(ok[pick[0]]):
            result.strip[size] = delta[pick[0]].numpy()


def _refit(result: ResolutionLabResult, boot: int = 200) -> None:
    """Slopes for every metric measured so far (a small bootstrap while running, the full one at the end)."""
    fits: dict[str, SlopeFit] = {}
    cfg = result.config
    done_sizes = sorted({m.resolution for m in result.measurements})
    if len(done_sizes) < 2:
        return
    if "l2" in cfg.norms:
        for metric in ("l2", "rel_l2", "rms"):
            sizes, table = result.table(metric, "l2")
            fits[metric] = median_slope_with_interval(sizes, table, metric, boot, cfg.seed)
    if "linf" in cfg.norms:
        sizes, table = result.table("linf", "linf")
        fits["linf"] = median_slope_with_interval(sizes, table, "linf", boot, cfg.seed)
    for metric in GRADIENT_METRICS:
        sizes, table = result.table(metric, cfg.norms[0])
        fits[metric] = median_slope_with_interval(sizes, table, metric, boot, cfg.seed, statistic="mean")
    for metric in FIRST_ORDER_METRICS:
        sizes, table = result.table(metric, cfg.norms[0])
        fits[metric] = median_slope_with_interval(sizes, table, metric, boot, cfg.seed)
    result.fits = fits
    result.verdicts = [verdict(f) for f in fits.values()]
