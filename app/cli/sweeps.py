"""`advlens sweep` and `advlens analyze`: robust accuracy against ε and the analyses over a set of images.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace

from advlens.config_args import (
    add_config_arguments,
    apply_attack_arguments,
)
from advlens.engine.config import AttackConfig

from .attack import fix_flags
from .common import (
    add_set_args,
    print_notes,
    progress_printer,
    scheduler,
)


def add_parsers(sub) -> dict:
    """This module's sub-commands on `sub`; returns their functions by name."""
    sweep = sub.add_parser("sweep", help="robust accuracy against epsilon over a set of images")
    add_set_args(sweep)
    add_config_arguments(sweep, AttackConfig, only=("attack", "norm", "steps", "restarts", "seed"))
    sweep.add_argument("--eps", dest="eps_range", default="0:16:1/255",
                       help="START:STOP:STEP (0:16:1/255) or a list a,b,c")
    sweep.add_argument("--no-diagnostics", action="store_true",
                       help="skip counting the images that trigger each indicator of attack failure")

    analyze = sub.add_parser("analyze", help="minimal perturbations, loss landscape, noise vs attack, "
                             "transfer, frequency bands")
    analyze.add_argument("kind", choices=["minimal", "landscape", "noise", "transfer", "frequency"])
    add_set_args(analyze)
    # defaults: the kind's (FMN-L2, 100 steps for minimal/landscape; PGD Linf 8/255, 20 steps otherwise)
    add_config_arguments(analyze, AttackConfig, only=("attack", "norm", "eps", "steps", "restarts", "seed"),
                         defaults=AttackConfig(attack="fmn/pgd", norm="l2/linf", steps="100/20"))
    analyze.add_argument("--other-model", action="append", default=[], help="transfer: more models to compare")
    return {"sweep": _cmd_sweep, "analyze": _cmd_analyze}


def _analysis(kind: str, args: argparse.Namespace):
    """Run one analysis from the command's flags; (request, result) after printing its notes."""
    from advlens.engine import load_model
    from advlens.engine.analysis import AnalysisRequest, default_attack, run_analysis
    from advlens.engine.analysis.requests import input_size_for

    attack = apply_attack_arguments(default_attack(kind), args)
    request = AnalysisRequest(kind, model=args.model, images=args.images, resolution=args.resolution,
                              fit=args.fit, attack=attack, eps_range=getattr(args, "eps_range", "0:16:1/255"),
                              other_models=list(getattr(args, "other_model", [])),
                              diagnostics=not getattr(args, "no_diagnostics", False),
                              scheduler=scheduler(args)).checked()
    model = load_model(args.model, args.device)
    print_notes(model.notes)
    others = {name: load_model(name, args.device) for name in request.other_models}
    notes: list[str] = []
    result = run_analysis(request, model, others, progress=progress_printer(), notes=notes)
    print_notes(notes)
    return replace(request, resolution=input_size_for(request, model)), result


def _cmd_sweep(args: argparse.Namespace) -> int:
    from advlens.engine.diagnostics.indicators import indicator_title
    from advlens.engine.units import format_budget

    request, curve = _analysis("sweep", args)
    if args.json:
        print(json.dumps(curve.to_dict() | {"images_source": request.images}, indent=2))
        return 0
    print(f"robust accuracy of {args.model} under {curve.attack.upper()} {curve.norm} on {curve.images} images "
          f"({request.images}, {request.resolution}px); clean {curve.clean_accuracy:.1%}")
    for i, (eps, acc) in enumerate(zip(curve.eps, curve.accuracy, strict=True)):
        counts = curve.diagnostics[i]["counts"] if curve.diagnostics else {}
        flags = ", ".join(f"{indicator_title(k)} {n}" for k, n in counts.items() if n)
        print(f"  eps {format_budget(eps, curve.norm):>9s}  {acc:6.1%}  {'#' * round(acc * 40):40s}  {flags}".rstrip())
    for line in sweep_diagnostic_lines(curve.diagnostics, curve.images):
        print(line)
    return 0


def sweep_diagnostic_lines(points: list[dict], images: int) -> list[str]:
    """Which indicators fired at which budgets of a sweep, and the fix of the worst."""
    from advlens.engine.diagnostics.indicators import Indicator, indicator_title

    fired: dict[str, list[tuple[float, int]]] = {}
    fixes: dict[str, Indicator] = {}
    for point in points:
        for name, count in point["counts"].items():
            if count:
                fired.setdefault(name, []).append((point["eps"], count))
        for data in point["fired"]:
            fixes.setdefault(data["name"], Indicator.from_dict(data))
    if not points:
        return []
    if not fired:
        return ["indicators of attack failure: none fired at any budget"]
    out = ["indicators of attack failure (images that triggered each, of " + str(images) + "):"]
    for name, hits in fired.items():
        worst = max(hits, key=lambda h: h[1])
        budgets = f"{len(hits)} budget{'s' if len(hits) != 1 else ''}"
        out.append(f"  {indicator_title(name)}: at {budgets}, up to {worst[1]} image{'s' if worst[1] != 1 else ''}")
        indicator = fixes.get(name)
        if indicator is not None:
            out.append(f"    {indicator.sentence}")
            if indicator.fix is not None:
                flags = f" ({fix_flags(indicator.fix.changes)})" if indicator.fix.changes else ""
                out.append(f"    fix: {indicator.fix.title}{flags}")
    return out


def _cmd_analyze(args: argparse.Namespace) -> int:
    _request, result = _analysis(args.kind, args)
    data = result if isinstance(result, dict) else result.to_dict()
    print(json.dumps(data, indent=None if not args.json else 2, default=float))
    return 0
