"""Indicators read from a run's per-step telemetry alone (numpy only, no model needed).

The record's `metrics` hold, per step and image, the loss, the margin still to close (< 0: fooled),
success and the perturbation norms. From them: silent success (an iterate was adversarial, the
returned point is not), incomplete optimisation (the objective was still improving at the end, or
the step size cannot reach the budget), for minimal-norm attacks a boundary reached but not crossed,
and restarts that end far apart. The GUI process can call this on its live series without torch.
Thresholds follow Pintor et al. (2022) where they give one: the objective's running best, rescaled
to [0, 1] over the run, counts as still improving if it fell by more than 5% in the last 10 steps.
One departure: a margin that still improves counts as incomplete only if it is heading below zero
(its improvements over the last steps are not shrinking towards a limit above the boundary) within
three times the steps run. On the demo, PGD-20 at 8/255 left 9 of 32 failures "still improving" by
the paper's test, yet 80, 200 or 320 steps (with the same or the default step) fooled at most one
image more: flagging those would send people after steps that do not help. Even so the forecast
is a hint (a yellow light): of the 3 images it still flags there, 102 steps fooled none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..catalogue import attack_spec
from ..config import AttackConfig
from ..units import format_norm, norm_title
from .indicators import Fix, Indicator, Level, ok, skipped

WINDOW = 10  # steps at the end of a run in which the objective must have levelled off
STILL_IMPROVING = 0.05  # share of the run's total progress made within the window
BOUNDARY_FAIL = 1e-3  # minimal margin / starting margin below which the boundary was reached
BOUNDARY_WARN = 1e-2
RESTART_SPREAD = 0.5  # relative spread of the restarts' final margins that counts as non-converging
RESTART_NORM_SPREAD = 0.25
FROZEN_STEPS = 5  # steps of an exactly unchanged margin that say the attack does not move
REACHABLE_FACTOR = 3  # still improving counts as incomplete if its pace crosses within this many times the steps
MORE_STEPS_FACTOR = 4
MAX_STEPS = 5000
STEP_FOLLOWS_STEPS = {"pgd": 2.5, "bim": 1.0, "mifgsm": 1.0}  # default step = factor * eps / steps
EARLY_STOP_ATTACKS = ("pgd", "bim", "mifgsm", "apgd-ce", "apgd-dlr")  # attacks that honour early_stop


def more_steps_fix(config: AttackConfig, why: str = "", needed: float = 0.0) -> Fix:
    """More steps: four times as many, or twice what the recent pace says crossing takes, if more.

    PGD's default step is 2.5·ε/steps, so more steps alone would walk the same path in smaller steps:
    where the step follows the step count, the fix keeps the step each one takes now."""
    steps = int(config.steps)
    wanted = max(steps * MORE_STEPS_FACTOR, steps + 10, steps + 2 * math.ceil(needed) if math.isfinite(needed) else 0)
    new = min(wanted, MAX_STEPS)
    changes: dict = {"steps": new}
    if attack_spec(config.attack).uses_step_size and config.step_size is None and config.attack in STEP_FOLLOWS_STEPS:
        changes["step_size"] = STEP_FOLLOWS_STEPS[config.attack] * float(config.eps) / steps
        return Fix(f"Run {new} steps instead of {steps}, each as long as now", changes, why)
    return Fix(f"Run {new} steps instead of {steps}", changes, why)


def rows_per_restart(config: AttackConfig) -> int | None:
    """How many telemetry rows one restart of this attack yields, or None where it varies.

    Restarts are concatenated in the telemetry without a marker; for attacks with a fixed schedule
    the boundaries follow from the settings (a test checks this against the attacks' stage labels).
    """
    name, steps = config.attack, int(config.steps)
    if name in ("pgd", "bim", "mifgsm", "apgd-ce", "apgd-dlr"):
        return None if config.early_stop else steps + 1
    if name == "fgsm":
        return None if config.early_stop else 2
    if name == "cw":
        return steps * int(attack_spec("cw").param_value(config, "binary_steps"))
    if name == "fmn":
        return steps
    return None


def restart_segments(config: AttackConfig, rows: int) -> list[slice] | None:
    """The rows of each restart that ran, or None if they cannot be told apart."""
    k = rows_per_restart(config)
    if k is None or rows == 0 or rows % k:
        return None
    return [slice(j * k, (j + 1) * k) for j in range(rows // k)]


def progress_left(series: np.ndarray, window: int = WINDOW) -> float:
    """Share of the run's total improvement of a minimised series made in its last `window` steps.

    The series is replaced by its running best (an attack keeps the best point), rescaled to [0, 1];
    0 means it had levelled off (or never moved), 1 that all progress came at the very end.
    """
    values = np.asarray(series, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return 0.0
    best = np.minimum.accumulate(values)
    span = best[0] - best[-1]
    if not span > 0:
        return 0.0
    k = min(window, len(best) - 1)
    return float((best[-k - 1] - best[-1]) / span)


def frozen_steps(margin: np.ndarray) -> int:
    """How many of the last steps left the margin exactly as it was (0 if it changed at the last step)."""
    values = np.asarray(margin, dtype=float)
    if len(values) < 2:
        return 0
    changed = np.nonzero(values[1:] != values[:-1])[0]
    return len(values) - 1 - (int(changed[-1]) + 1 if len(changed) else 0)


def _norm_series(metrics: Mapping[str, np.ndarray], norm: str, image: int) -> np.ndarray | None:
    return np.asarray(metrics[norm][:, image], dtype=float) if norm in metrics else None


def _adversarial_norms(norms: np.ndarray, success: np.ndarray) -> np.ndarray:
    """The norms of adversarial iterates, inf elsewhere; a live run or a record takes the norms only on
    steps that had a frame (NaN on the others, record format 2), and those count as not measured."""
    return np.where(success & np.isfinite(norms), norms, np.inf)


def _best_norms(norms: np.ndarray, success: np.ndarray) -> np.ndarray:
    """Running smallest norm among adversarial iterates (inf before the first)."""
    return np.minimum.accumulate(_adversarial_norms(norms, success))


def silent_success(success: np.ndarray, final_adversarial: bool | None, config: AttackConfig) -> Indicator:
    name = "silent_success"
    if final_adversarial is None:
        return skipped(name, "judged when the run has ended")
    hits = np.nonzero(success)[0]
    if final_adversarial or not len(hits):
        return ok(name, "the returned image is the adversarial one found" if final_adversarial
                  else "no iterate was adversarial, so none was lost")
    first = int(hits[0])
    if config.attack in EARLY_STOP_ATTACKS and not config.early_stop:
        fix = Fix("Stop each image at its first adversarial step", {"early_stop": True})
    else:
        fix = Fix("Keep the best iterate", {}, "The attack returned a worse point than one it had found: "
                  "count the image as fooled and report the attack's bug.")
    return Indicator(name, Level.FAIL, first, f"step {first}",
                     f"step {first} was adversarial, but the returned image is not: the attack lost what it found",
                     fix)


def incomplete_optimisation(margin: np.ndarray, success: np.ndarray, norms: np.ndarray | None,
                            config: AttackConfig, finished: bool) -> Indicator:
    name = "incomplete_optimisation"
    spec = attack_spec(config.attack)
    if not finished:
        return skipped(name, "judged when the run has ended")
    if not spec.uses_steps:
        return skipped(name, f"{spec.title} takes a single step: there is nothing to converge")
    found = bool(np.any(success))
    window = min(WINDOW, max(len(margin) - 1, 1))
    if spec.is_minimal and found:
        if config.attack == "deepfool" or norms is None:
            return ok(name, "the attack stops at the boundary it found")
        best = _best_norms(norms, success)
        first = int(np.argmax(np.isfinite(best)))
        left = progress_left(best[first:], window)
        if left > STILL_IMPROVING:
            return Indicator(name, Level.WARN, left, f"{left:.0%} in the last {window} steps",
                             f"the smallest perturbation was still shrinking ({left:.0%} of its decrease came "
                             f"in the last {window} steps): the norm reported is an over-estimate",
                             more_steps_fix(config))
        return ok(name, f"the smallest perturbation had levelled off (last {window} steps: {left:.0%})", left)
    if found:
        return ok(name, "the attack reached its goal")
    if spec.uses_step_size and config.step_size is not None and not spec.is_minimal:
        reach = float(config.steps) * float(config.step_size)
        if reach < float(config.eps) * (1 - 1e-6):
            default = 2.5 * float(config.eps) / float(config.steps)
            return Indicator(name, Level.FAIL, reach, f"reach {format_norm(reach, config.norm)}",
                             f"{config.steps} steps of {format_norm(float(config.step_size), config.norm)} move "
                             f"at most {format_norm(reach, config.norm)}, less than the budget ε: the budget was "
                             "never tested",
                             Fix(f"Use a larger step, 2.5·ε/steps = {format_norm(default, config.norm)}",
                                 {"step_size": default}))
    left = progress_left(margin, window)
    if left > STILL_IMPROVING:
        limit, needed = margin_outlook(margin, window)
        text = f"{left:.0%} in the last {window} steps"
        if limit < 0 and needed <= REACHABLE_FACTOR * max(int(config.steps), 1):
            return Indicator(name, Level.WARN, left, text,
                             f"the margin was still falling at the end ({left:.0%} of its progress came in the last "
                             f"{window} steps); at that pace it would cross the boundary in about "
                             f"{math.ceil(needed)} more steps", more_steps_fix(config, needed=needed))
        return ok(name, f"the margin still fell a little ({left:.0%} of its progress in the last {window} steps), "
                  f"but it is levelling off about {max(limit, 0):.3g} above the boundary: more steps alone would "
                  "not change the verdict", left, text)
    return ok(name, f"the margin had levelled off by the end (last {window} steps: {left:.0%})", left)


def margin_outlook(margin: np.ndarray, window: int = WINDOW) -> tuple[float, float]:
    """(where the margin's running best is heading, steps to reach 0 at its recent pace).

    The last `window` steps are split in two halves: if the second improved less than the first, the
    improvements are taken to shrink geometrically and the limit is their sum; otherwise the margin
    keeps falling at its recent pace (limit -inf). PGD's curves on the demo level off this way.
    """
    values = np.asarray(margin, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 3:
        return (float(values[-1]) if len(values) else math.inf), math.inf
    best = np.minimum.accumulate(values)
    half = max(1, min(window, len(best) - 1) // 2)
    first = best[-2 * half - 1] - best[-half - 1] if len(best) > 2 * half else best[0] - best[-half - 1]
    second = best[-half - 1] - best[-1]
    end = float(best[-1])
    rate = second / half
    needed = end / rate if rate > 0 and end > 0 else math.inf
    if first > 0 and second < first:
        ratio = second / first
        return end - second * ratio / (1 - ratio), needed
    return -math.inf if second > 0 else end, needed


def boundary_fix(config: AttackConfig) -> Fix:
    spec = attack_spec(config.attack)
    if config.attack == "cw":
        c = float(spec.param_value(config, "c"))
        return Fix(f"Start the c search at {c * 10:g}", {"params": {"c": c * 10}},
                   "A larger c weighs misclassification more against distance.")
    if config.attack == "deepfool":
        ov = float(spec.param_value(config, "overshoot"))
        new = min(max(2 * ov, 0.05), 1.0)
        return Fix(f"Overshoot the boundary by {new:.0%}", {"params": {"overshoot": new}})
    return Fix("Cross with DeepFool, which overshoots the boundary by 2%",
               {"attack": "deepfool", "steps": max(50, int(config.steps)), "params": {"overshoot": 0.02}})


def boundary_not_crossed(margin: np.ndarray, success: np.ndarray, config: AttackConfig, finished: bool) -> Indicator:
    name = "boundary_not_crossed"
    if not finished:
        return skipped(name, "judged when the run has ended")
    if bool(np.any(success)):
        return ok(name, "the attack crossed the boundary")
    values = np.asarray(margin, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values) or not values[0] > 0:
        return skipped(name, "the starting margin is not positive")
    start, closest = float(values[0]), float(values.min())
    ratio = closest / start
    text = f"margin {start:.3g} → {closest:.2g}"
    if ratio < BOUNDARY_WARN:
        level = Level.FAIL if ratio < BOUNDARY_FAIL else Level.WARN
        return Indicator(name, level, closest, text,
                         f"the attack crept up to the decision boundary (margin {start:.3g} → {closest:.2g}) but "
                         "never crossed it, and reports the image as not fooled", boundary_fix(config))
    return ok(name, f"the attack never came close to the boundary ({text})", closest, text)


def restart_spread(margin: np.ndarray, success: np.ndarray, norms: np.ndarray | None,
                   config: AttackConfig, finished: bool) -> Indicator:
    name = "restarts"
    if int(config.restarts) <= 1:
        return skipped(name, "one run: no restarts to compare")
    if not finished:
        return skipped(name, "judged when the run has ended")
    segments = restart_segments(config, len(margin))
    if segments is None:
        return skipped(name, "the restarts cannot be told apart in this attack's telemetry "
                             "(early stop or a schedule of varying length)")
    spec = attack_spec(config.attack)
    fix = Fix(f"Run {int(config.restarts) * 2} restarts", {"restarts": int(config.restarts) * 2})
    if spec.is_minimal and norms is not None:
        best = [float(np.min(_adversarial_norms(norms[s], success[s]))) for s in segments]
        finite = [b for b in best if math.isfinite(b)]
        if not finite:
            return ok(name, "no restart found an adversarial")
        if len(finite) < len(best):
            return Indicator(name, Level.WARN, len(best) - len(finite), f"{len(best) - len(finite)} of {len(best)} empty",
                             f"{len(best) - len(finite)} of {len(best)} restarts found no adversarial while others did: "
                             "the result depends on the start", fix)
        spread = (max(finite) - min(finite)) / max(max(finite), 1e-12)
        text = f"{norm_title(config.norm)} {min(finite):.3g}–{max(finite):.3g}"
        if spread > RESTART_NORM_SPREAD:
            return Indicator(name, Level.WARN, spread, text,
                             f"the restarts found perturbations of very different size ({text}): more restarts "
                             "may find a smaller one", fix)
        return ok(name, f"the restarts agree ({text})", spread, text)
    if bool(np.any(success)):
        return ok(name, "the attack reached its goal")
    finals = [float(np.nanmin(margin[s])) for s in segments]
    if len(finals) < 2:
        return skipped(name, "only one restart ran")
    spread = (max(finals) - min(finals)) / max(abs(max(finals)), abs(min(finals)), 1e-12)
    text = f"margins {min(finals):.3g}–{max(finals):.3g}"
    if spread > RESTART_SPREAD:
        return Indicator(name, Level.WARN, spread, text,
                         f"the restarts ended far apart ({text}): the loss surface is rugged, and more restarts "
                         "may find an adversarial", fix)
    return ok(name, f"the restarts ended close together ({text})", spread, text)


def frozen_output(margin: np.ndarray, success: np.ndarray, finished: bool) -> Indicator | None:
    """A live hint for the gradient indicator: the margin has not changed for several steps."""
    if bool(np.any(success)):
        return None
    still = frozen_steps(margin)
    if still < FROZEN_STEPS:
        return None
    return Indicator("gradients", Level.WARN, float(still), f"unchanged for {still} steps",
                     f"the margin has not changed at all for {still} steps: the attack is not moving, its "
                     "gradients may be zero" + ("" if finished else " (the gradient probe runs after the run)"))


def trajectory_indicators(metrics: Mapping[str, np.ndarray], config: AttackConfig,
                          final_adversarial: list[bool] | np.ndarray | None = None,
                          finished: bool = True) -> list[dict[str, Indicator]]:
    """Per image, the indicators the telemetry can tell: name -> Indicator.

    `metrics` maps metric names to (steps, images) arrays; `final_adversarial[i]` says whether the
    returned image i is adversarial (re-evaluated, not as the attack claims); None while running.
    """
    spec = attack_spec(config.attack)
    margin_all = np.asarray(metrics["margin"], dtype=float)
    success_all = np.asarray(metrics["success"], dtype=float) > 0.5
    images = margin_all.shape[1] if margin_all.ndim == 2 else 0
    out: list[dict[str, Indicator]] = []
    for i in range(images):
        margin, success = margin_all[:, i], success_all[:, i]
        norms = _norm_series(metrics, config.norm, i)
        final = None if final_adversarial is None else bool(final_adversarial[i])
        found: dict[str, Indicator] = {}
        if len(margin) == 0:
            out.append(found)
            continue
        found["silent_success"] = silent_success(success, final, config)
        found["incomplete_optimisation"] = incomplete_optimisation(margin, success, norms, config, finished)
        if spec.is_minimal:
            found["boundary_not_crossed"] = boundary_not_crossed(margin, success, config, finished)
        found["restarts"] = restart_spread(margin, success, norms, config, finished)
        frozen = frozen_output(margin, success, finished)
        if frozen is not None:
            found["gradients"] = frozen
        out.append(found)
    return out
