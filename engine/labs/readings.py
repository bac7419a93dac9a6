"""The readings of Dube's claim and its rivals, the slopes each predicts, and the one joint verdict.

The table is SCIENCE.md's [derived] one: slopes of each metric against the side length s. A reading
without a prediction for a metric is not constrained by it. The joint verdict looks at raw L2, Linf and
the input gradient's ‖·‖₁ together (of the logit gap, see JOINT_METRICS): a reading is supported when every one of those it predicts (and that was
measured) falls inside its interval, widened by `TOLERANCE`; a group is supported when one of its
readings is. The groups are what one experiment can tell apart: Dube B or C (raw norms shrink), Dube A
or Simon-Gabriel (fixed raw L2, shrinking Linf), and the scale-consistent null (the same function of the
continuous scene at every s: raw L2 grows like s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .slopes import SlopeFit

A, B, C, SG, NULL = "Dube A", "Dube B", "Dube C", "Simon-Gabriel", "scale-consistent (null)"
READINGS: dict[str, str] = {
    A: "images of fixed norm, n = pixel count",
    B: "raw norm, n = pixel count",
    C: "raw norm, n = side length",
    SG: "first order, the input gradient spread evenly over the pixels",
    NULL: "the same function of the continuous scene at every size",
}
# metric -> reading -> predicted log-log slope against the side length s
PREDICTIONS: dict[str, dict[str, float]] = {
    "l2": {A: 0.0, B: -1.0, C: -0.5, SG: 0.0, NULL: 1.0},
    "rel_l2": {A: -1.0, B: -2.0, C: -1.5, SG: -1.0, NULL: 0.0},
    "rms": {A: -1.0, B: -2.0, C: -1.5, SG: -1.0, NULL: 0.0},
    "linf": {A: -1.0, SG: -1.0, NULL: 0.0},
    "grad_l1": {SG: 1.0, NULL: 0.0},
    "grad_l2": {SG: 0.0, NULL: -1.0},
    "margin_grad_l1": {SG: 1.0, NULL: 0.0},
    "margin_grad_l2": {SG: 0.0, NULL: -1.0},
    "first_order_l2": {A: 0.0, B: -1.0, C: -0.5, SG: 0.0, NULL: 1.0},
    "first_order_linf": {A: -1.0, SG: -1.0, NULL: 0.0},
}
METRIC_TITLES = {"l2": "raw L2", "rel_l2": "relative L2 (‖δ‖₂/‖x‖₂)", "rms": "RMS",
                 "linf": "Linf", "grad_l1": "mean ‖∂L/∂x‖₁", "grad_l2": "mean ‖∂L/∂x‖₂",
                 "margin_grad_l1": "‖∂margin/∂x‖₁", "margin_grad_l2": "‖∂margin/∂x‖₂",
                 "first_order_l2": "first-order L2 (margin/‖∇margin‖₂)",
                 "first_order_linf": "first-order Linf (margin/‖∇margin‖₁)"}
# The gradient in the joint verdict is the logit gap's: the cross-entropy's ‖∂L/∂x‖₁ (Simon-Gabriel et
# al.'s measure, still reported with its predictions) also carries the factor (1 - p) of the model's
# confidence, which grows with the size for a model that sees more detail, whatever its geometry.
JOINT_METRICS = ("l2", "linf", "margin_grad_l1")
GROUPS: dict[str, tuple[str, ...]] = {
    "Dube B or C": (B, C),
    "Dube A or Simon-Gabriel": (A, SG),
    "the scale-consistent null": (NULL,),
}
# Slopes closer than this to a prediction count as agreeing even outside the bootstrap interval: the
# interval holds sampling error only, and a near-minimal attack's bias (its norms are upper bounds)
# can shift a slope by a few hundredths with every image agreeing.
TOLERANCE = 0.05


def _fmt(fit: SlopeFit) -> str:
    return f"{METRIC_TITLES.get(fit.metric, fit.metric)} {fit.slope:+.2f} [{fit.low:+.2f}, {fit.high:+.2f}]"


def metric_verdict(fit: SlopeFit) -> str:
    """One line: the fitted slope, its interval, and which readings it is consistent with."""
    title = METRIC_TITLES.get(fit.metric, fit.metric)
    if not fit.finite:
        return f"{title}: not enough data for a slope"
    seeds = f", {fit.seeds} training seeds" if fit.seeds > 1 else ""
    censored = f", {fit.censored} failed searches censored" if fit.censored else ""
    head = (f"{title} slope {fit.slope:+.2f} (95% CI {fit.low:+.2f} to {fit.high:+.2f}) over "
            f"{fit.resolutions} resolutions, {fit.images} image slopes{seeds}{censored}")
    readings = PREDICTIONS.get(fit.metric)
    if not readings:
        return head
    inside = [f"{name} ({value:+g})" for name, value in readings.items() if fit.contains(value, TOLERANCE)]
    outside = [f"{name} ({value:+g})" for name, value in readings.items() if not fit.contains(value, TOLERANCE)]
    parts = []
    if inside:
        parts.append("consistent with " + ", ".join(inside))
    if outside:
        parts.append("not consistent with " + ", ".join(outside))
    return head + ": " + "; ".join(parts)


@dataclass
class JointVerdict:
    """Which readings and groups the raw-L2, Linf and ‖∇ margin‖₁ slopes support together."""

    supported_groups: list[str] = field(default_factory=list)
    supported_readings: list[str] = field(default_factory=list)
    tested: dict[str, list[str]] = field(default_factory=dict)  # reading -> metrics that constrained it
    missing: list[str] = field(default_factory=list)  # joint metrics with no finite fit
    sentence: str = ""

    @property
    def outcome(self) -> str:
        """'group' (exactly one group), 'ambiguous' (several: intervals too wide), 'none', or 'no data'."""
        if not self.tested:
            return "no data"
        return {0: "none", 1: "group"}.get(len(self.supported_groups), "ambiguous")

    def to_dict(self) -> dict:
        return asdict(self) | {"outcome": self.outcome}


def joint_verdict(fits: dict[str, SlopeFit], tolerance: float = TOLERANCE) -> JointVerdict:
    """The joint verdict over raw L2, Linf and ‖∇ margin‖₁, with a one-sentence summary that leads the text."""
    usable = {m: fits[m] for m in JOINT_METRICS if m in fits and fits[m].finite}
    verdict = JointVerdict(missing=[m for m in JOINT_METRICS if m not in usable])
    for reading in READINGS:
        checks = {m: PREDICTIONS[m][reading] for m in usable if reading in PREDICTIONS[m]}
        if not checks:
            continue
        verdict.tested[reading] = list(checks)
        if all(usable[m].contains(value, tolerance) for m, value in checks.items()):
            verdict.supported_readings.append(reading)
    verdict.supported_groups = [g for g, members in GROUPS.items()
                                if any(r in verdict.supported_readings for r in members)]
    evidence = "; ".join(_fmt(usable[m]) for m in JOINT_METRICS if m in usable)
    verdict.sentence = _sentence(verdict, evidence, usable)
    return verdict


def _members_note(group: str, verdict: JointVerdict, usable: dict[str, SlopeFit]) -> str:
    members = GROUPS[group]
    if len(members) < 2:
        return ""
    kept = [r for r in members if r in verdict.supported_readings]
    dropped = [r for r in members if r not in kept and r in verdict.tested]
    if not dropped:
        return ""
    reasons = []
    for reading in dropped:
        bad = [f"{METRIC_TITLES[m]} {PREDICTIONS[m][reading]:+g}" for m in verdict.tested[reading]
               if not usable[m].contains(PREDICTIONS[m][reading], TOLERANCE)]
        reasons.append(f"{reading}'s {', '.join(bad)} lies outside")
    return f" ({'; '.join(reasons)}: {', '.join(kept)} alone)"


def _sentence(verdict: JointVerdict, evidence: str, usable: dict[str, SlopeFit]) -> str:
    if verdict.outcome == "no data":
        return "Not enough data for a verdict yet: no slope of raw L2, Linf or ‖∇ margin‖₁ could be fitted."
    unmeasured = (f" ({', '.join(METRIC_TITLES[m] for m in verdict.missing)} not measured, so it constrains "
                  "nothing)") if verdict.missing else ""
    if verdict.outcome == "group":
        group = verdict.supported_groups[0]
        return (f"The data support {group}{_members_note(group, verdict, usable)}: {evidence}{unmeasured}.")
    if verdict.outcome == "ambiguous":
        groups = verdict.supported_groups
        listed = ", ".join(groups[:-1]) + f" and {groups[-1]}"
        return (f"The intervals are too wide to tell {listed} apart: {evidence}{unmeasured}. More images "
                "(or seeds) would narrow them.")
    return (f"The data support none of the readings (Dube A, B, C, Simon-Gabriel, the scale-consistent null): "
            f"{evidence}{unmeasured}; {_closest(verdict, usable)}.")


def _closest(verdict: JointVerdict, usable: dict[str, SlopeFit]) -> str:
    """The reading that misses least: the most predicted slopes inside their intervals, then the smallest
    total distance of its predictions from the intervals."""
    def inside(reading: str, metric: str) -> bool:
        return usable[metric].contains(PREDICTIONS[metric][reading], TOLERANCE)

    def score(reading: str) -> tuple[int, float]:
        metrics = verdict.tested[reading]
        gap = sum(max(usable[m].low - PREDICTIONS[m][reading], PREDICTIONS[m][reading] - usable[m].high, 0.0)
                  for m in metrics)
        return -sum(inside(reading, m) for m in metrics), gap

    best = min(verdict.tested, key=score)
    hits = [METRIC_TITLES[m] for m in verdict.tested[best] if inside(best, m)]
    misses = [f"{METRIC_TITLES[m]} (predicted {PREDICTIONS[m][best]:+g})" for m in verdict.tested[best]
              if not inside(best, m)]
    return (f"the closest reading is {best}: {' and '.join(hits) or 'no slope'} inside, "
            f"{' and '.join(misses)} outside")
