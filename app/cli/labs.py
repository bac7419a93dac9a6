"""`advlens resolution` and `advlens stability`: the two labs from the command line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from advlens.engine.errors import ConfigError
from advlens.engine.units import grey_levels

from .common import (
    add_scheduler_arg,
    progress_printer,
    scheduler,
)


def add_parsers(sub) -> dict:
    """This module's sub-commands on `sub`; returns their functions by name."""
    res = sub.add_parser("resolution", help="Resolution lab: minimal perturbation norms against image resolution "
                         "(Dube's claim), with log-log slopes")
    res.add_argument("--model", default="demo", help="bundled model name or model file (one model for every size)")
    res.add_argument("--per-resolution-models", action="store_true",
                     help="the control: attack each size on the bundled models trained only at that size "
                          "(demo-r16, demo-r16-s1, ...; every training seed); sizes without one are skipped")
    res.add_argument("--models", default=None, metavar="SIZE=MODEL,...",
                     help="the control with your own models: the models trained at each size, e.g. "
                          "16=a.pt,32=b.pt (repeat a size for more training seeds: 16=a.pt,16=a2.pt)")
    res.add_argument("--images", default="demo:32", help="demo:N, sample:NAME or a folder of images")
    res.add_argument("--resolutions", default=None,
                     help="comma list of side lengths (default 16..128 on CPU, 16..256 on a GPU; with per-resolution "
                          "models, the sizes they were trained at)")
    res.add_argument("--attack", default="fmn", choices=["fmn", "deepfool", "pgd-bisect"],
                     help="near-minimal attack")
    res.add_argument("--norms", default="l2,linf", help="l2, linf or both")
    res.add_argument("--steps", type=int, default=100, help="attack iterations per image and norm")
    res.add_argument("--condition", default="native", choices=["native", "nearest-upsampled"],
                     help="native: finer samplings of one scene; nearest-upsampled: a control that adds no detail")
    res.add_argument("--convergence-images", type=int, default=8,
                     help="re-run this many images with twice the steps at the smallest and largest size (0: off)")
    res.add_argument("--seed", type=int, default=0)
    res.add_argument("--device", default="auto")
    res.add_argument("--csv", type=Path, default=None, help="write every measurement to this CSV file")
    res.add_argument("--json", action="store_true", help="print the full result as JSON")
    add_scheduler_arg(res)

    stab = sub.add_parser("stability", help="Stability lab: a fixed ReLU architecture against networks that grow "
                          "with the problem (Bastounis, Hansen, Vlačić)")
    stab.add_argument("--sweep", default="stripes", choices=["stripes", "points"],
                      help="stripes: vary K at --train points (the inaccurate branch); points: vary the training-set "
                           "size at K = --points-stripes (the accurate-but-unstable branch)")
    stab.add_argument("--stripes", default="2,4,8,16,32,64", help="K values: a comma list or a power-of-two range 2:64")
    stab.add_argument("--points", default="100,300,1000,3000,10000,20000",
                      help="training-set sizes of the points sweep (a comma list)")
    stab.add_argument("--points-stripes", type=int, default=4, help="K of the points sweep")
    stab.add_argument("--dims", default="2,32,256", help="input dimensions d: a comma list or a range 2:1024")
    stab.add_argument("--train", type=int, default=2000, help="training points per setting")
    stab.add_argument("--test", type=int, default=1000, help="held-out test points per setting")
    stab.add_argument("--width", type=int, default=16, help="width of the fixed architecture")
    stab.add_argument("--depth", type=int, default=2, help="hidden layers of the fixed architecture")
    stab.add_argument("--seeds", type=int, default=3, help="trainings of the fixed architecture per setting")
    stab.add_argument("--steps", type=int, default=2000, help="Adam steps per training, at least: training goes on "
                      "while the loss still falls, up to 8 times as many")
    stab.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate")
    stab.add_argument("--attack-points", type=int, default=200,
                      help="held-out (and as many training) points whose distance is measured")
    stab.add_argument("--norm", default="l2", choices=["l2", "linf"],
                      help="norm of the distances that class a run as unstable (and of the headline rho)")
    stab.add_argument("--seed", type=int, default=0)
    stab.add_argument("--json", action="store_true", help="print the full result as JSON")
    add_scheduler_arg(stab)
    return {"resolution": _cmd_resolution, "stability": _cmd_stability}


def lab_indicator_line(cells: dict[str, dict[str, int]], unit: str) -> str:
    """One line: how many images (points) triggered each indicator, over a lab's cells, and where most."""
    from advlens.engine.diagnostics.indicators import indicator_title

    totals: dict[str, int] = {}
    measured = sum(cell.get(unit, 0) for cell in cells.values())
    for cell in cells.values():
        for name, count in cell.items():
            if name != unit:
                totals[name] = totals.get(name, 0) + count
    if not totals:
        return "indicators of attack failure: not measured"
    parts = []
    for name, total in totals.items():
        worst = max(cells, key=lambda c: cells[c].get(name, 0))
        where = f" (most at {worst}: {cells[worst][name]})" if total else ""
        parts.append(f"{indicator_title(name)} {total}{where}")
    return f"indicators of attack failure, {unit} of {measured} measured: " + "; ".join(parts)


def _int_list(text: str) -> list[int]:

    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise ConfigError(f"expected a comma list of whole numbers, got '{text}'") from exc


def _size_models(text: str) -> dict[int, list[str]]:
    """'16=a.pt,32=b.pt,16=c.pt' -> {16: ['a.pt', 'c.pt'], 32: ['b.pt']}: the models trained at each size."""

    models = {}
    for part in (t.strip() for t in text.split(",")):
        size, sep, spec = part.partition("=")
        if not part:
            continue
        if not sep or not size.strip().isdigit() or not spec.strip():
            raise ConfigError(f"--models expects SIZE=MODEL pairs separated by commas, got '{part}'")
        models.setdefault(int(size), []).append(spec.strip())
    return models


def _cmd_resolution(args: argparse.Namespace) -> int:
    from advlens.engine.device import select_device
    from advlens.engine.images import atomic_write_bytes
    from advlens.engine.labs.resolution import (
        CPU_RESOLUTIONS,
        DEFAULT_RESOLUTIONS,
        ResolutionLabConfig,
        run_resolution_lab,
    )
    from advlens.engine.loaders import control_models

    device = select_device(args.device)
    models = _size_models(args.models) if args.models else control_models() if args.per_resolution_models else {}
    if args.per_resolution_models and not models:
        raise ConfigError("no per-resolution control models are installed (advlens train-demo --controls)")
    sizes = _int_list(args.resolutions) if args.resolutions else sorted(models) if models else list(
        DEFAULT_RESOLUTIONS if device.type == "cuda" else CPU_RESOLUTIONS)
    config = ResolutionLabConfig(images=args.images, model=args.model, models=models, resolutions=sizes,
                                 attack=args.attack, norms=[n.strip() for n in args.norms.split(",") if n.strip()],
                                 steps=args.steps, condition=args.condition, seed=args.seed, device=str(device),
                                 convergence_images=args.convergence_images)
    from advlens.engine.executor import executor_for

    executor = executor_for(scheduler(args))
    try:
        result = run_resolution_lab(config, progress=progress_printer(), executor=executor)
    finally:
        executor.shutdown()
    if args.csv:
        atomic_write_bytes(args.csv, result.to_csv().encode())
    if args.json:
        print(json.dumps(result.to_json_dict(), indent=2, default=float))
        return 0
    print(f"Resolution lab: {result.model_name} ({result.model_mode}), {config.images}, {config.attack.upper()}")
    if result.verdicts:
        print(result.verdicts[0])
    if result.missing_models:
        print(f"  skipped (no model trained at that size): {', '.join(map(str, result.missing_models))} px")
    for note in result.notes:
        print(f"  - {note}")
    header = "  size  skipped  " + "  ".join(f"{m:>9s}" for m in ("L2", "rel L2", "RMS", "Linf*255"))
    print(header)
    l2, rel, rms = (result.medians(m, "l2") if "l2" in config.norms else [float("nan")] * len(sizes)
                    for m in ("l2", "rel_l2", "rms"))
    linf = result.medians("linf", "linf") if "linf" in config.norms else [float("nan")] * len(sizes)
    for j, s in enumerate(result.config.resolutions):
        print(f"  {s:4d}  {result.skipped.get(s, 0):7d}  {l2[j]:9.4f}  {rel[j]:9.5f}  {rms[j]:9.5f}  {grey_levels(linf[j]):9.3f}"
              + (f"  {', '.join(result.models[s])}" if config.per_resolution else ""))
    failed = result.censored_counts()
    print("medians of the minimal perturbations found (failed searches, censored: "
          + ", ".join(f"{n.upper()} {c}" for n, c in failed.items()) + "); paired slopes against the side "
          "length s (n = 3 s^2):")
    for line in result.verdicts[1:]:
        print(f"  {line}")
    print(lab_indicator_line(result.diagnostics, "images"))
    if args.csv:
        print(f"measurements written to {args.csv}")
    return 0


def _cmd_stability(args: argparse.Namespace) -> int:
    from advlens.engine.labs.stability import StabilityConfig, parse_int_list, run_stability_lab, table_rows

    config = StabilityConfig(stripes=parse_int_list(args.stripes, "stripes"), dims=parse_int_list(args.dims, "dims"),
                             sweep=args.sweep, point_counts=parse_int_list(args.points, "points"),
                             points_stripes=args.points_stripes,
                             train_points=args.train, test_points=args.test, width=args.width, depth=args.depth,
                             seeds=args.seeds, train_steps=args.steps, learning_rate=args.lr,
                             attack_points=args.attack_points, norm=args.norm, seed=args.seed).validated()
    from advlens.engine.executor import executor_for

    executor = executor_for(scheduler(args))
    try:
        result = run_stability_lab(config, progress=progress_printer(), executor=executor)
    finally:
        executor.shutdown()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=float))
        return 0
    arch = "-".join(["d", *[str(config.width)] * config.depth, "1"])
    setting = (f"{config.train_points} training points, K = {', '.join(map(str, config.stripes))}"
               if config.sweep == "stripes" else
               f"K = {config.points_stripes}, n = {', '.join(map(str, config.point_counts))} training points")
    print(f"Stability lab: {setting}, {config.test_points} test points per setting, margin δ = 0.1/K; fixed {arch} "
          f"MLP (Adam, {config.train_steps}+ steps to a plateau, {config.seeds} seeds); a run is inaccurate below "
          f"{config.accurate_at:.0%} held-out accuracy, else unstable when over {config.unstable_share:.0%} of its "
          f"points have a {config.norm.upper()} adversarial within δ (AS/AU/I: accurate & stable / accurate & "
          "unstable / inaccurate)")
    print(result.summary)
    headers, cells = table_rows(result.rows, config.norm)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    cells = {f"K={r.stripes} d={r.dim} n={r.train_points} {run.kind}{'' if run.seed is None else f' seed {run.seed}'}":
             run.indicators for r in result.rows for run in [*r.fixed_runs, r.zigzag, r.nearest, r.wide]}
    print(lab_indicator_line(cells, "points"))
    print(result.departures)
    print(f"({result.seconds:.0f} s)")
    return 0
