"""What happened in a run, in one line a lecture audience reads: the Explorer's banner (live and for an
opened run) and the report's verdict.

Design note. The wording depends on the kind of run, and getting it wrong misleads: a targeted run that
moved star → cross is not "the model held", an untargeted failure is not "star → star", a minimal-norm
attack's result is the norm it found. So every kind is worded here, from plain facts (`RunFacts`), and
both the live banner and an opened record go through `describe_run` (`record_facts` reads a record's). torch-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NORM_TITLES = {"linf": "Linf", "l2": "L2", "l1": "L1"}
STATES = ("running", "paused", "finished", "cancelled", "failed")

# banner tones (the theme colours them): the attack worked, the model held, it went elsewhere, an error
TONE_SUCCESS, TONE_HELD, TONE_ELSEWHERE, TONE_ERROR = "success", "fail", "partial", "bad"


@dataclass
class RunFacts:
    """The plain facts of a run (or of the step it is at) that its description needs."""

    state: str  # running | paused | finished | cancelled | failed
    clean: str = ""  # the class the model saw in the original
    adversarial: str = ""  # the class it sees now
    confidence: float = float("nan")  # of `adversarial`
    success: bool | None = None  # the attack's criterion met (targeted: the target reached)
    target: str | None = None  # the target class of a targeted run
    minimal: bool = False  # a minimal-norm attack (its result is the norm it found)
    attack: str = ""  # the attack's title
    norm: str = "linf"
    budget: str = ""  # the ε as people type it ('8/255', '0.5'); unused for minimal attacks
    norms: dict[str, float] | None = None  # l2, linf ([0, 1] units), l0, l1 of the perturbation
    step: int = 0
    total_steps: int = 0
    message: str = ""  # why a failed run failed
    caveat: str = ""  # 'random weights' and the like: the predictions mean nothing


def _percent(value: float) -> str:
    return f" ({value:.0%})" if isinstance(value, int | float) and math.isfinite(value) else ""


def norm_value_text(norm: str, value: float) -> str:
    """A perturbation's size in the norm's own units: Linf in /255, L2 and L1 as they are."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "?"
    return f"{value * 255:.2f}/255" if norm == "linf" else f"{value:.3f}"


def _moved(facts: RunFacts) -> str:
    """'star → cross (93%)' when the class changed; 'still star (88%)' when it did not (never 'star → star')."""
    if facts.adversarial and facts.adversarial != facts.clean:
        return f"{facts.clean} → {facts.adversarial}{_percent(facts.confidence)}"
    return f"still {facts.clean or facts.adversarial}{_percent(facts.confidence)}"


def _verdict(facts: RunFacts) -> tuple[str, str]:
    """(headline, tone) of a run that ended with its result."""
    norm = NORM_TITLES.get(facts.norm, facts.norm)
    fooled = bool(facts.adversarial) and facts.adversarial != facts.clean
    found = (facts.norms or {}).get(facts.norm, float("nan"))
    if facts.minimal:
        size = norm_value_text(facts.norm, found)
        if facts.success:
            aim = f" reaches the target {facts.target}" if facts.target is not None else " fools the model"
            return f"FOUND — an {norm} perturbation of {size}{aim}: {_moved(facts)}", TONE_SUCCESS
        if facts.target is not None:
            return (f"NOT FOUND — no {norm} perturbation reached the target {facts.target} in "
                    f"{facts.step} steps: {_moved(facts)}", TONE_ELSEWHERE if fooled else TONE_HELD)
        return f"NOT FOUND — no {norm} perturbation fooled the model in {facts.step} steps: {_moved(facts)}", TONE_HELD
    if facts.target is not None:
        if facts.success:
            return f"TARGET REACHED — the model now sees {facts.target}: {_moved(facts)}", TONE_SUCCESS
        if fooled:
            return (f"TARGET MISSED — aimed at {facts.target}, the model went to {facts.adversarial} instead: "
                    f"{_moved(facts)}", TONE_ELSEWHERE)
        return f"TARGET MISSED — aimed at {facts.target}, the model held: {_moved(facts)}", TONE_HELD
    if facts.success:
        return f"SUCCESS — the model is fooled: {_moved(facts)}", TONE_SUCCESS
    return f"FAILED — the model held: {_moved(facts)}", TONE_HELD


def _progress(facts: RunFacts) -> str:
    """Where a run that has not ended stands: the class now, and whether the criterion is met yet."""
    fooled = bool(facts.adversarial) and facts.adversarial != facts.clean
    if facts.target is not None:
        where = (f"target {facts.target} reached" if facts.success else
                 f"aiming at {facts.target}" + (f", at {facts.adversarial} for now" if fooled else ""))
    else:
        where = "model FOOLED" if facts.success else "model holding"
    return f"{_moved(facts)} — {where}"


def _setting(facts: RunFacts) -> str:
    norm = NORM_TITLES.get(facts.norm, facts.norm)
    setting = f"minimal {norm}" if facts.minimal else f"{norm} ε={facts.budget}" if facts.budget else norm
    return " ".join(part for part in (facts.attack, setting) if part)


def describe_run(facts: RunFacts) -> tuple[str, str]:
    """(text, tone) for a run in any state: running, paused, finished (untargeted success or failure,
    targeted reached or missed, minimal-norm found or not), stopped, failed."""
    if facts.state == "failed":
        return f"Attack stopped by an error: {facts.message or 'no reason given'}", TONE_ERROR
    steps = f"{facts.step}/{facts.total_steps}" if facts.total_steps else f"{facts.step}"
    if facts.state == "running":
        head, tone = f"Step {steps}: {_progress(facts)}", ""
    elif facts.state == "paused":
        head, tone = f"PAUSED at step {steps}: {_progress(facts)} · Run goes on, Step takes one step", ""
    elif facts.state == "cancelled":
        head, tone = f"Stopped at step {steps}, before the end: {_progress(facts)}", ""
    else:
        head, tone = _verdict(facts)
    parts = [head, _setting(facts)]
    norms = facts.norms or {}
    if "l2" in norms and "linf" in norms:
        parts.append(f"L2 {norm_value_text('l2', norms['l2'])} · Linf {norm_value_text('linf', norms['linf'])}")
    if facts.caveat:
        parts.append(f"model with {facts.caveat}")
    return " · ".join(part for part in parts if part), tone


def record_facts(record, image: int = 0) -> RunFacts:  # noqa: ANN001 - a RunRecord (imported lazily: it loads numpy)
    """The facts of a saved run (finished or stopped), for the same wording as the end of a live run."""
    from .catalogue import attack_spec, planned_steps
    from .errors import AdvLensError
    from .record import label_text
    from .units import format_budget

    cfg = record.config.attack
    names = record.class_names
    try:
        spec = attack_spec(cfg.attack)
        title, minimal, total = spec.title, spec.is_minimal, planned_steps(cfg)
    except (KeyError, AdvLensError):
        title, minimal, total = str(cfg.attack), False, 0
    eps = cfg.eps
    budget = format_budget(float(eps), str(cfg.norm)) if isinstance(eps, int | float) and not isinstance(eps, bool) \
        else str(eps)
    norms = {name: values[image] for name, values in record.norms.items() if len(values) > image}
    return RunFacts(state="cancelled" if record.status == "cancelled" else "finished",
                    clean=label_text(names, record.clean_pred[image]), adversarial=label_text(names, record.adv_pred[image]),
                    confidence=record.adv_conf[image], success=bool(record.success[image]),
                    target=label_text(names, cfg.target) if cfg.target is not None else None, minimal=minimal,
                    attack=title, norm=str(cfg.norm), budget=budget, norms=norms, step=record.steps_run,
                    total_steps=total)
