"""Indicators from the probes (gradients, noise, the DeepFool cross-check), and the run's diagnosis
that joins them with the telemetry's. Torch-free: it reads `ProbeResults` as plain data, so the GUI
process can rebuild a diagnosis from dicts too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..catalogue import attack_spec
from ..config import AttackConfig
from ..units import format_budget, norm_title
from .indicators import Fix, ImageDiagnosis, Indicator, Level, RunDiagnosis, indicator_order, ok, skipped
from .trajectory import more_steps_fix, trajectory_indicators

FEW_PIXELS = 0.01  # a gradient that touches fewer input values than this moves a sign step hardly at all
VANISHING = 1e-10  # an L2 gradient norm below which normalised steps shrink (attacks clamp at 1e-12)
UNSTABLE_WARN = 0.1  # mean relative margin change under tiny noise
UNSTABLE_FAIL = 0.3
CROSS_BETTER = 0.9  # DeepFool's norm below this share of a minimal-norm attack's counts as smaller
SQUARE_QUERIES = 1000

BPDA_ADVICE = ("For a non-differentiable part (rounding, quantisation, JPEG, argmax), attack with BPDA: "
               "use the identity (or a smooth stand-in) for that part in the backward pass; for a randomised "
               "one, average the gradient over many draws (EOT).")


def square_fix(config: AttackConfig) -> Fix:
    """The gradient-free attack, where the threat model allows it."""
    if config.norm != "linf" or attack_spec(config.attack).is_minimal:
        return Fix("Attack with BPDA or EOT", {}, BPDA_ADVICE)
    queries = max(SQUARE_QUERIES, int(config.steps))
    return Fix(f"Use the gradient-free Square attack ({queries} queries)",
               {"attack": "square", "steps": queries, "random_start": False}, BPDA_ADVICE)


def dlr_fix(config: AttackConfig, num_classes: int | None) -> Fix:
    spec = attack_spec(config.attack)
    needed = 4 if config.target is not None else 3
    if spec.is_minimal or config.norm not in attack_spec("apgd-dlr").norms or (num_classes or needed) < needed:
        return Fix("Use a margin loss", {}, "A loss on logit differences (CW, FMN, DLR) ignores the logits' scale.")
    return Fix("Use APGD with the scale-free DLR loss", {"attack": "apgd-dlr", "steps": max(int(config.steps), 20)},
               "The DLR loss divides logit differences by their spread, so a saturated softmax does not flatten it.")


def stronger_fix(config: AttackConfig) -> Fix:
    """A stronger attack of the same threat model, for a fixed-budget attack that missed an adversarial."""
    name, restarts = config.attack, int(config.restarts)
    if name in ("fgsm", "pgd", "bim", "mifgsm") and config.norm in attack_spec("apgd-ce").norms:
        return Fix("Use APGD-CE (momentum, self-tuning step) with 100 steps",
                   {"attack": "apgd-ce", "steps": max(100, int(config.steps))})
    if name == "apgd-ce":
        return Fix("Use APGD with the DLR loss", {"attack": "apgd-dlr"})
    if name == "square":
        return more_steps_fix(config)
    return Fix(f"Run {max(4, 2 * restarts)} restarts", {"restarts": max(4, 2 * restarts)})


def gradient_indicator(probes, i: int, config: AttackConfig, num_classes: int | None) -> Indicator:
    name = "gradients"
    coverage = probes.gradient_coverage[i]
    finite = probes.gradient_finite[i]
    norm = probes.gradient_norm[i]
    margin_coverage = probes.margin_gradient_coverage[i]
    responds = probes.responds[i] if probes.responds else True
    if not finite:
        return Indicator(name, Level.FAIL, math.nan, "NaN/Inf",
                         "the gradient of the attack's loss is NaN or infinite here: a part of the model is not "
                         "differentiable where it is evaluated", square_fix(config))
    if coverage == 0:
        if probes.objective == "ce" and margin_coverage > 0:
            return Indicator(name, Level.FAIL, 0.0, "0% nonzero (CE)",
                             "the cross-entropy's gradient is exactly zero although the logits still respond: the "
                             "softmax is saturated (huge logits), so the loss is flat in float32",
                             dlr_fix(config, num_classes))
        if not responds:
            return Indicator(name, Level.FAIL, 0.0, "constant output",
                             "the model's output does not change at all around the image: no attack can move it, "
                             "so 'not fooled' says nothing; check the model (an all-zero layer, saturated units)",
                             Fix("Check the model's weights", {}, "Random or zeroed heads give constant outputs."))
        return Indicator(name, Level.FAIL, 0.0, "0% nonzero",
                         "the gradient is exactly zero although the output changes under noise: a non-differentiable "
                         "part (rounding, quantisation, argmax) masks the way to the boundary", square_fix(config))
    text = f"{coverage:.0%} nonzero"
    if norm < VANISHING and config.norm != "linf":
        return Indicator(name, Level.WARN, coverage, f"norm {norm:.1e}",
                         f"the gradient is vanishingly small (L2 norm {norm:.1e}): normalised steps shrink to "
                         "nothing", dlr_fix(config, num_classes) if probes.objective == "ce" else square_fix(config))
    if coverage < FEW_PIXELS:
        return Indicator(name, Level.WARN, coverage, text,
                         f"only {coverage:.1%} of the input values have a nonzero gradient: the attack's steps "
                         "leave the rest unchanged", square_fix(config))
    return ok(name, f"the gradient is finite and nonzero on {coverage:.0%} of the input", coverage, text)


def unstable_indicator(probes, i: int, config: AttackConfig) -> Indicator:
    name = "unstable_predictions"
    change, flips = probes.noise_change[i], probes.noise_flips[i]
    restarts = max(5, 2 * int(config.restarts))
    fix = Fix(f"Run {restarts} restarts", {"restarts": restarts},
              "If the model is randomised, average each gradient over many draws (EOT).")
    if probes.repeatable and not probes.repeatable[i]:
        return Indicator(name, Level.FAIL, change, "random output",
                         "two evaluations of the same image gave different outputs: the model is randomised, and "
                         "one gradient of it misleads the attack", fix)
    text = f"{change:.0%} change, {flips:.0%} flips"
    if flips > 0:
        return Indicator(name, Level.FAIL, change, text,
                         f"tiny noise (±1/255) already changed the prediction in {flips:.0%} of draws, yet the "
                         "attack failed: the output around the image is unstable", fix)
    if change > UNSTABLE_WARN:
        level = Level.FAIL if change > UNSTABLE_FAIL else Level.WARN
        return Indicator(name, level, change, text,
                         f"tiny noise (±1/255) moves the margin by {change:.0%} on average: the loss surface is "
                         "rough, and its gradient points the attack astray", fix)
    return ok(name, f"tiny noise moves the margin by {change:.1%} on average", change, text)


def cross_check_indicator(probes, i: int, config: AttackConfig, success: bool, attack_norm: float,
                          masked_fix: Fix | None) -> Indicator:
    name = "cross_check"
    spec = attack_spec(config.attack)
    if not probes.cross_ran or not probes.cross_ran[i]:
        return skipped(name, f"no DeepFool cross-check: {probes.cross_why or 'not run for this image'}")
    found, norm = probes.cross_success[i], probes.cross_norm[i]
    title = norm_title(config.norm)
    if not spec.is_minimal:
        if success:
            return ok(name, "the attack fooled the image", norm)
        if found and norm <= float(config.eps) * (1 + 1e-6):
            budget = format_budget(config.eps, config.norm)
            return Indicator(name, Level.FAIL, norm, f"DeepFool {title} {_norm(norm, config.norm)}",
                             f"DeepFool fooled this image with {title} {_norm(norm, config.norm)}, inside the budget "
                             f"ε = {budget}, where the attack found nothing: the attack is too weak here",
                             masked_fix or stronger_fix(config))
        return ok(name, "DeepFool found no adversarial inside the budget either" if not found else
                  f"DeepFool's adversarial needs {title} {_norm(norm, config.norm)}, beyond the budget", norm)
    if not found:
        return ok(name, "DeepFool found no adversarial either")
    if not success:
        return Indicator(name, Level.FAIL, norm, f"DeepFool {title} {_norm(norm, config.norm)}",
                         f"DeepFool fooled this image with {title} {_norm(norm, config.norm)} where the attack found "
                         "no adversarial at all", masked_fix or more_steps_fix(config))
    ratio = attack_norm / norm if norm > 0 else math.inf
    if attack_norm * CROSS_BETTER > norm:
        if config.attack == "cw":
            binary = int(attack_spec("cw").param_value(config, "binary_steps"))
            fix = Fix("Run CW longer: 5× the steps and 4 more stages of the c search",
                      {"steps": min(int(config.steps) * 5, 5000), "params": {"binary_steps": min(binary + 4, 20)}})
        else:
            fix = more_steps_fix(config)
        return Indicator(name, Level.WARN, ratio, f"{ratio:.2g}× DeepFool's",
                         f"DeepFool found a smaller perturbation ({title} {_norm(norm, config.norm)} against "
                         f"{_norm(attack_norm, config.norm)}, {ratio:.2g}×): the attack has not converged", fix)
    return ok(name, f"no smaller perturbation from DeepFool ({title} {_norm(norm, config.norm)} against "
              f"{_norm(attack_norm, config.norm)})", ratio, f"{ratio:.2g}× DeepFool's")


def _norm(value: float, norm: str) -> str:
    return f"{value * 255:.3g}/255" if norm == "linf" else f"{value:.3g}"


def _after_success(name: str, indicator: Indicator) -> Indicator:
    """A fixed-budget attack that fooled the image needs no explanation of failure."""
    if not indicator.fired:
        return indicator
    return ok(name, f"the attack fooled the image (measured: {indicator.value_text or indicator.sentence})",
              indicator.value, indicator.value_text)


def diagnose(metrics: Mapping[str, np.ndarray], config: AttackConfig, success: Sequence[bool],
             final_adversarial: Sequence[bool] | None = None, attack_norms: Sequence[float] | None = None,
             probes=None, num_classes: int | None = None, finished: bool = True,
             notes: Sequence[str] = ()) -> RunDiagnosis:
    """The run's indicators per image: the telemetry's, plus the probes' when `probes` is given.

    `success[i]` is the attack's verdict for image i; `final_adversarial[i]` whether the returned image
    is adversarial when evaluated again (None while running); `attack_norms[i]` the returned
    perturbation's size in the attack's norm (minimal-norm comparisons).
    """
    spec = attack_spec(config.attack)
    traj = trajectory_indicators(metrics, config, final_adversarial, finished)
    diagnosis = RunDiagnosis(config.attack, config.norm, notes=list(notes))
    for i, found in enumerate(traj):
        fooled = bool(success[i]) if i < len(success) else False
        by_name = dict(found)
        masked_fix = None
        if probes is not None and probes.probed:
            if spec.needs_gradients and not math.isnan(probes.gradient_coverage[i]):
                grad = gradient_indicator(probes, i, config, num_classes)
                masked_fix = grad.fix if grad.fired and grad.fix is not None and grad.fix.applicable else None
                by_name["gradients"] = grad
            elif not spec.needs_gradients:
                by_name["gradients"] = skipped("gradients", f"{spec.title} reads only the model's scores: "
                                                            "gradients play no part")
            else:
                by_name["gradients"] = skipped("gradients", "the model gives no gradients")
            by_name["unstable_predictions"] = unstable_indicator(probes, i, config)
            norm_i = float(attack_norms[i]) if attack_norms is not None else math.nan
            by_name["cross_check"] = cross_check_indicator(probes, i, config, fooled, norm_i, masked_fix)
        elif finished and "gradients" not in by_name:
            by_name["gradients"] = skipped("gradients", "the gradient probe did not run")
        elif "gradients" not in by_name:
            by_name["gradients"] = skipped("gradients", "probed after the run")
        if fooled and not spec.is_minimal:
            for name in ("gradients", "unstable_predictions"):
                if name in by_name:
                    by_name[name] = _after_success(name, by_name[name])
        diagnosis.images.append(ImageDiagnosis(i, list(by_name.values())))
    for image in diagnosis.images:
        image.indicators.sort(key=lambda ind: indicator_order(ind.name))
    return diagnosis


def final_adversarial(adv_pred: Sequence[int], labels: Sequence[int], target: int | None) -> list[bool]:
    """Whether each returned image is adversarial, from the predictions the record re-evaluated."""
    if target is None:
        return [int(p) != int(y) for p, y in zip(adv_pred, labels, strict=True)]
    return [int(p) == int(target) for p in adv_pred]


TRANSFER_WARN = 0.5  # share of a surrogate's adversarials that fail on the target


def transfer_failure(source: str, target: str, fooled_source: int, not_transferred: int) -> Indicator:
    """Pintor et al.'s transfer failure for one surrogate -> target pair: adversarials that fool the
    surrogate but not the target measure the surrogate's fit, not the target's robustness."""
    name = "transfer_failure"
    if fooled_source == 0:
        return skipped(name, f"the attack fooled {source} on no image, so nothing could transfer")
    share = not_transferred / fooled_source
    text = f"{not_transferred} of {fooled_source} did not transfer"
    fix = Fix(f"Attack {target} itself", {}, f"A transfer attack from {source} only bounds {target}'s robustness "
              "from above; attack the target with its own gradients, or with Square if it gives none "
              "(MI-FGSM adversarials transfer better than PGD's).")
    if share > TRANSFER_WARN:
        return Indicator(name, Level.WARN, share, text,
                         f"{not_transferred} of the {fooled_source} adversarials made on {source} do not fool "
                         f"{target}: {target} resisting them says little about its robustness", fix)
    return ok(name, f"{fooled_source - not_transferred} of {fooled_source} adversarials from {source} fool {target}",
              share, text)
