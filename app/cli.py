"""The command line: `advlens attack|models|samples|train-demo|gui ...`, the same engine as the GUI.

Bad input gets one line on stderr and exit code 2; an attack that fails while running exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from advlens.config_args import (
    add_config_arguments,
    add_run_config_arguments,
    apply_attack_arguments,
    print_config,
    resolution,
    run_config_from,
    whole_number,
)
from advlens.engine.config import FITS, AttackConfig
from advlens.engine.errors import ConfigError
from advlens.engine.units import grey_levels

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

_positive_int = whole_number("the value", 1, None)


def _positive_ints(text: str) -> list[int]:
    """A comma list of whole numbers of at least 1 (the bench's sizes and batches)."""
    values = [_positive_int(t.strip()) for t in text.split(",") if t.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"expected a comma list of whole numbers, got '{text}'")
    return values


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _window_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT in pixels, e.g. 1024x768, got '{text}'") from exc
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
        raise argparse.ArgumentTypeError(f"size must be between 320x240 and 7680x4320, got {width}x{height}")
    return width, height


SCHEDULER_HELP = ("where the sweep's jobs run: 'local' (this process, the default), 'local:N' (a Dask LocalCluster "
                  "of N workers on this machine) or tcp://HOST:PORT (a running Dask scheduler); default "
                  "$ADVLENS_SCHEDULER. Dask needs pip install 'advlens[cluster]'")


def _add_scheduler_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", default=None, metavar="WHERE", help=SCHEDULER_HELP)


def _scheduler(args: argparse.Namespace) -> str:
    """The scheduler string in force (the flag, else $ADVLENS_SCHEDULER), checked before anything loads."""
    from advlens.engine.schedulers import parse_scheduler, scheduler_from

    text = scheduler_from(getattr(args, "scheduler", None))
    parse_scheduler(text)
    return text


def _add_set_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="demo", help="bundled model name or model file")
    p.add_argument("--images", default="demo:64", help="demo:N (held-out demo scenes) or a folder of images")
    p.add_argument("--resolution", type=resolution, default=32, help="images are drawn/resampled to N x N")
    p.add_argument("--fit", default="auto", choices=FITS,
                   help="how photos meet a fixed-size model: crop (resize, then centre crop), squash or pad; "
                        "auto crops where the model's own preprocessing does")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_scheduler_arg(p)


def _progress_printer():
    """A one-line progress display on stderr (only when it is a terminal)."""
    from advlens.engine.jobs import Progress

    if not sys.stderr.isatty():
        return Progress()

    def show(done: int, total: int, _partial) -> None:
        width = 30
        filled = int(width * done / max(total, 1))
        eta = progress.eta_seconds()
        tail = f" ETA {eta:.0f}s" if eta is not None and done < total else ""
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}{tail}   ")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    progress = Progress(show)
    return progress


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="advlens", description="AdvLens: watch adversarial attacks happen. "
                     "With no command, opens the desktop app.")
    from advlens import __version__

    parser.add_argument("--version", action="version", version=f"advlens {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("--demo", action="store_true", help="open on the bundled demo model and sample")
    gui.add_argument("--run", action="store_true", help="start the attack as soon as the window is up")
    gui.add_argument("--screenshot", type=Path, metavar="PNG",
                     help="when the run ends, save a screenshot of the window here and exit")
    gui.add_argument("--image", help="image file or sample:NAME to open")
    gui.add_argument("--model", help="model to open (bundled name or file)")
    gui.add_argument("--fullscreen", action="store_true", help="start in full-screen demo mode")
    gui.add_argument("--screenshot-size", type=_window_size, metavar="WxH", default=None,
                     help="window size for --screenshot, e.g. 1024x768 (default 1600x900)")
    # tests: toggle full-screen demo mode N times while the --run attack draws (the rest after it ends)
    gui.add_argument("--toggle-fullscreen", type=int, default=0, metavar="N", help=argparse.SUPPRESS)

    attack = sub.add_parser("attack", help="run one attack and write its run record")
    add_run_config_arguments(attack)
    attack.add_argument("--card", type=Path, default=None, metavar="FILE",
                        help="model card (JSON/TOML: name, labels, mean, std, input_size) for a file without one")
    attack.add_argument("--trust-pickle", action="store_true",
                        help="load a full Python pickle model; it can run any code in the file: only for files you trust")
    attack.add_argument("--onnx-runtime", action="store_true",
                        help="run an ONNX model in onnxruntime (black-box attacks only) instead of converting it "
                             "to PyTorch with onnx2torch")
    attack.add_argument("--label", type=int, default=None,
                        help="true class index (default: known for samples, else the clean prediction)")
    attack.add_argument("--out", type=Path, default=None, help="run record folder (default: a new folder in the user "
                        "data dir); an existing record there is replaced, any other folder is refused")
    attack.add_argument("--force", action="store_true", help="let --out replace a folder that is not a run record")
    attack.add_argument("--no-save", action="store_true", help="do not write a run record")
    attack.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    attack.add_argument("--no-diagnostics", action="store_true",
                        help="skip the indicators of attack failure (the probes after the run: gradients, noise, "
                             "a DeepFool cross-check)")

    bench = sub.add_parser("bench", help="time the engine against a hand-written PyTorch loop, torchattacks and "
                                         "Foolbox, interleaved; and its peak memory")
    bench.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    bench.add_argument("--quick", action="store_true", help="tiny sizes, few rounds (a smoke test)")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument("--rounds", type=whole_number("rounds", 1, 100), default=None,
                       help="interleaved rounds (default 9; --sweep --quick: 3)")
    bench.add_argument("--threads", type=_positive_int, default=1, help="torch threads for every implementation")
    bench.add_argument("--sizes", type=_positive_ints, default=[32, 64, 128], help="image sizes, e.g. 32,64,128")
    bench.add_argument("--batches", type=_positive_ints, default=[1, 64], help="batch sizes, e.g. 1,64")
    bench.add_argument("--steps", type=_positive_int, default=20, help="PGD steps per run")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory rows")
    bench.add_argument("--memory-steps", type=_positive_int, default=5000,
                       help="steps of the long peak-memory run at 256 px (beside a 20-step one)")
    bench.add_argument("--gui", action="store_true",
                       help="measure the window instead: engine steps/s with the Explorer drawing vs headless, "
                            "frames/s, event-loop latency, start-up, stalls with a slow model (offscreen, and "
                            "under Xvfb when installed)")
    bench.add_argument("--sweep", action="store_true",
                       help="measure the sweep executors instead: jobs/s and per-job overhead on the local pool "
                            "and on a 2-worker Dask LocalCluster (needs advlens[cluster]), rounds interleaved")

    sweep = sub.add_parser("sweep", help="robust accuracy against epsilon over a set of images")
    _add_set_args(sweep)
    add_config_arguments(sweep, AttackConfig, only=("attack", "norm", "steps", "restarts", "seed"))
    sweep.add_argument("--eps", dest="eps_range", default="0:16:1/255",
                       help="START:STOP:STEP (0:16:1/255) or a list a,b,c")
    sweep.add_argument("--no-diagnostics", action="store_true",
                       help="skip counting the images that trigger each indicator of attack failure")

    analyze = sub.add_parser("analyze", help="minimal perturbations, loss landscape, noise vs attack, "
                             "transfer, frequency bands")
    analyze.add_argument("kind", choices=["minimal", "landscape", "noise", "transfer", "frequency"])
    _add_set_args(analyze)
    # defaults: the kind's (FMN-L2, 100 steps for minimal/landscape; PGD Linf 8/255, 20 steps otherwise)
    add_config_arguments(analyze, AttackConfig, only=("attack", "norm", "eps", "steps", "restarts", "seed"),
                         defaults=AttackConfig(attack="fmn/pgd", norm="l2/linf", steps="100/20"))
    analyze.add_argument("--other-model", action="append", default=[], help="transfer: more models to compare")

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
    _add_scheduler_arg(res)

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
    _add_scheduler_arg(stab)

    sub.add_parser("attacks", help="list the attacks with their norms and settings")
    sub.add_parser("models", help="list the bundled models")
    sub.add_parser("samples", help="list the bundled sample images")

    train = sub.add_parser("train-demo", help="retrain the bundled demo model (reproducible from its seed)")
    train.add_argument("--out", type=Path, default=None, help="output folder (default: the package's resources/models)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--steps", type=int, default=None)
    train.add_argument("--sizes", default=None, help="comma list of training sizes (default: the demo's 16-144 px "
                       "mix); one size N trains the Resolution lab's control model shapes-cnn-rN (alias demo-rN)")
    train.add_argument("--name", default=None, help="model name and file stem (default shapes-cnn or shapes-cnn-rN)")
    train.add_argument("--threads", type=int, default=None, help="CPU threads for training (default: torch's)")
    train.add_argument("--controls", action="store_true", help="train every Resolution lab control model "
                       "(16, 32, 64, 128 px; seeds 0 and 1), the same number of steps each")
    _add_runs_parser(sub)
    return parser


def _add_runs_parser(sub) -> None:
    runs = sub.add_parser("runs", help="saved run records: list, show, compare, replay, report")
    verbs = runs.add_subparsers(dest="runs_command", parser_class=_Parser, metavar="ACTION", required=True)
    listing = verbs.add_parser("list", help="the records in a runs folder, newest first, one line each")
    listing.add_argument("--dir", type=Path, default=None, help="runs folder (default: $ADVLENS_RUNS_DIR or the "
                         "user data folder, where 'advlens attack' and the app save runs)")
    listing.add_argument("--json", action="store_true", help="print the summaries as JSON")
    show = verbs.add_parser("show", help="one record's settings, outcome and versions")
    show.add_argument("path", type=Path, help="record folder (or its record.json)")
    show.add_argument("--json", action="store_true", help="print the record (without arrays) as JSON")
    compare = verbs.add_parser("compare", help="two records side by side: settings that differ, outcomes")
    compare.add_argument("a", type=Path, help="first record folder")
    compare.add_argument("b", type=Path, help="second record folder")
    compare.add_argument("--json", action="store_true", help="print the comparison (with per-step series) as JSON")
    replay = verbs.add_parser("replay", help="run a record's attack again from its config and seed; exit 0 if "
                              "the result is identical, 1 if it differs")
    replay.add_argument("path", type=Path, help="record folder")
    replay.add_argument("--device", default=None, help="compute on this device instead of the record's setting")
    replay.add_argument("--card", type=Path, default=None, metavar="FILE", help="model card for a model file without one")
    replay.add_argument("--trust-pickle", action="store_true",
                        help="load a full Python pickle model; it can run any code in the file: only for files you trust")
    replay.add_argument("--out", type=Path, default=None, help="also save the replayed run as a record here")
    replay.add_argument("--force", action="store_true", help="let --out replace a folder that is not a run record")
    replay.add_argument("--json", action="store_true", help="print the verdict and the replayed record as JSON")
    report = verbs.add_parser("report", help="write a one-page, self-contained HTML report of a record")
    report.add_argument("path", type=Path, help="record folder")
    report.add_argument("--out", type=Path, required=True, help="HTML file to write")


def _cmd_models(args: argparse.Namespace) -> int:
    from advlens.engine.loaders import bundled_models, control_models

    models = bundled_models()
    width = max([16, *(len(m.name) for m in models)])
    for model in models:
        card = model.card
        acc = ", ".join(f"{k}px {v:.1%}" for k, v in card.clean_accuracy.items())
        size = f"{card.input_size}px" if card.input_size else "any size"
        print(f"{model.name:{width}s} {card.display_name} - {len(card.labels)} classes, {size}; clean accuracy {acc}")
    print(f"{'demo':{width}s} alias of shapes-cnn")
    if control_models():
        print(f"{'demo-rN':{width}s} alias of shapes-cnn-rN, the demo's network trained only at N px (Resolution "
              "lab control: advlens resolution --per-resolution-models)")
    return 0


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        sys.stderr.write(f"advlens: note: {note}\n")


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
                              scheduler=_scheduler(args)).checked()
    model = load_model(args.model, args.device)
    _print_notes(model.notes)
    others = {name: load_model(name, args.device) for name in request.other_models}
    notes: list[str] = []
    result = run_analysis(request, model, others, progress=_progress_printer(), notes=notes)
    _print_notes(notes)
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


def fix_flags(changes: dict) -> str:
    """A fix's setting changes as `advlens attack` flags: '--attack apgd-dlr --steps 20'."""
    flags = []
    for key, value in changes.items():
        if key == "params":
            flags += [f"--param {k}={v:g}" for k, v in dict(value).items()]
        elif key == "early_stop":
            flags.append("--early-stop" if value else "")
        elif key == "random_start":
            flags.append("" if value else "--no-random-start")
        elif key == "step_size" and value is None:
            flags.append("(default --step-size)")
        else:
            flags.append(f"--{key.replace('_', '-')} {value:.6g}" if isinstance(value, float)
                         else f"--{key.replace('_', '-')} {value}")
    return " ".join(f for f in flags if f)


def diagnosis_lines(diagnosis) -> list[str]:
    """What a person reads about a run's indicators: each that fired, with its fix as flags."""
    fired = diagnosis.fired()
    if not fired:
        return diagnosis.lines()
    out = []
    for indicator in fired:
        value = f" [{indicator.value_text}]" if indicator.value_text else ""
        out.append(f"{indicator.level.value.upper()} {indicator.title}{value}: {indicator.sentence}")
        fix = indicator.fix
        if fix is not None:
            flags = f" ({fix_flags(fix.changes)})" if fix.changes else ""
            out.append(f"  fix: {fix.title}{flags}." + (f" {fix.advice}" if fix.advice else ""))
    return out + [f"note: {note}" for note in diagnosis.notes]


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


def _cmd_analyze(args: argparse.Namespace) -> int:
    _request, result = _analysis(args.kind, args)
    data = result if isinstance(result, dict) else result.to_dict()
    print(json.dumps(data, indent=None if not args.json else 2, default=float))
    return 0


def _int_list(text: str) -> list[int]:
    from advlens.engine.errors import ConfigError

    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise ConfigError(f"expected a comma list of whole numbers, got '{text}'") from exc


def _size_models(text: str) -> dict[int, list[str]]:
    """'16=a.pt,32=b.pt,16=c.pt' -> {16: ['a.pt', 'c.pt'], 32: ['b.pt']}: the models trained at each size."""
    from advlens.engine.errors import ConfigError

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
    from advlens.engine.errors import ConfigError
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

    executor = executor_for(_scheduler(args))
    try:
        result = run_resolution_lab(config, progress=_progress_printer(), executor=executor)
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

    executor = executor_for(_scheduler(args))
    try:
        result = run_stability_lab(config, progress=_progress_printer(), executor=executor)
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


def _cmd_attacks(args: argparse.Namespace) -> int:
    from advlens.engine.catalogue import attack_names, attack_spec

    for name in attack_names():
        spec = attack_spec(name)
        kind = "minimal-norm" if spec.is_minimal else "fixed budget"
        extras = [kind, "norms " + "/".join(spec.norms)]
        if spec.uses_steps:
            extras.append(f"{spec.default_steps} steps")
        if not spec.targeted:
            extras.append("untargeted only")
        if not spec.needs_gradients:
            extras.append("black-box")
        print(f"{name:10s} {spec.title} - {spec.description} [{'; '.join(extras)}]")
        for pname, p in spec.params.items():
            print(f"{'':12s}--param {pname}={p.default:g}  {p.help}")
    return 0


def _cmd_samples(args: argparse.Namespace) -> int:
    from advlens.engine.samples import sample_names

    for name in sample_names():
        print(f"sample:{name}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from advlens.engine.demo import train

    argv = ["--seed", str(args.seed)]
    if args.out is not None:
        argv += ["--out", str(args.out)]
    for flag, value in (("--steps", args.steps), ("--sizes", args.sizes), ("--name", args.name),
                        ("--threads", args.threads)):
        if value is not None:
            argv += [flag, str(value)]
    return train.main(argv + (["--controls"] if args.controls else []))


def _cmd_attack(args: argparse.Namespace) -> int:
    from advlens.engine import load_model, prepare_job
    from advlens.engine.paths import new_record_path
    from advlens.engine.record_schema import check_destination
    from advlens.engine.runs import record_lines
    from advlens.engine.session import execute

    config = run_config_from(args)
    if args.print_config:
        print_config(config)
        return 0
    if args.out is not None and not args.no_save:
        check_destination(args.out, args.force)  # refused before the model loads and the attack runs
    model = load_model(config.model, config.device, card=args.card, trust_pickle=args.trust_pickle,
                       onnx_runtime=args.onnx_runtime)
    _print_notes(model.notes)
    job = prepare_job(config, model=model, label=args.label)
    _print_notes(job.notes)
    record = execute(job)
    diagnosis = None
    if not args.no_diagnostics:
        from advlens.engine.diagnostics import DiagnosticsOptions, diagnose_record

        diagnosis = diagnose_record(record, model, DiagnosticsOptions(seed=record.config.attack.seed))
    out = None
    if not args.no_save:
        out = args.out or new_record_path(record.config.attack.attack)
        record.save(out, force=args.force)
    if args.json:
        data = record.to_json_dict()
        data["record_path"] = str(out) if out else None
        data["diagnostics"] = diagnosis.to_dict() if diagnosis is not None else None
        print(json.dumps(data, indent=2))
        return 0
    skip = {"record", "created", "versions"}
    for name, value in record_lines(record):
        if name not in skip:
            print(f"{name:12s} {value}")
    if out:
        print(f"{'record':12s} {out}")
    if diagnosis is not None:
        for i, line in enumerate(diagnosis_lines(diagnosis)):
            print(f"{'diagnostics' if i == 0 else '':12s} {line}")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from advlens.engine import runs
    from advlens.engine.paths import default_runs_dir

    if args.runs_command == "list":
        folder = args.dir or default_runs_dir()
        if args.dir is None and not folder.exists():
            summaries = []
        else:
            summaries = runs.list_runs(folder)
        if args.json:
            print(json.dumps([s.to_dict() for s in summaries], indent=2, default=float))
        elif not summaries:
            print(f"no run records in {folder}")
        for summary in summaries if not args.json else ():
            print(summary.line())
        return 0
    if args.runs_command == "show":
        record = runs.load_record(args.path)
        if args.json:
            print(json.dumps(record.to_json_dict() | {"record_path": str(args.path)}, indent=2))
        else:
            for key, value in runs.record_lines(record, args.path):
                print(f"{key:12s} {value}")
        return 0
    if args.runs_command == "compare":
        comparison = runs.compare_records(runs.load_record(args.a), runs.load_record(args.b), args.a, args.b)
        if args.json:
            print(json.dumps(comparison.to_dict(), indent=2, default=str))
            return 0
        print(f"A  {args.a}\nB  {args.b}")
        norms = (comparison.a.config.attack.norm, comparison.b.config.attack.norm)
        rows = [(f, runs.setting_text(f, a, norms[0]), runs.setting_text(f, b, norms[1]))
                for f, a, b in comparison.differences]
        print("settings that differ:" if rows else "settings: the same")
        rows += [("", "", "")] + list(comparison.outcome) if rows else list(comparison.outcome)
        width = [max(len(r[i]) for r in rows) for i in range(2)]
        for f, a, b in rows:
            print(f"  {f:{width[0]}s}  {a:{width[1]}s}  {b}".rstrip())
        return 0
    if args.runs_command == "replay":
        record = runs.load_record(args.path)
        if args.out is not None:
            from advlens.engine.record_schema import check_destination

            check_destination(args.out, args.force)
        model = None
        if args.card is not None or args.trust_pickle:
            from advlens.engine import load_model

            model = load_model(record.config.model, args.device or record.config.device, card=args.card,
                               trust_pickle=args.trust_pickle)
        result = runs.replay_record(record, device=args.device, model=model)
        for note in result.notes:
            sys.stderr.write(f"advlens: note: {note}\n")
        if args.out is not None:
            result.replayed.save(args.out, force=args.force)
        if args.json:
            print(json.dumps(result.to_dict() | {"record_path": str(args.path)}, indent=2))
        else:
            print(result.verdict() if result.identical else "DIFFERS from the record:")
            for line in result.differences:
                print(f"  - {line}")
        return 0 if result.identical else EXIT_FAILED
    out = runs.write_report(runs.load_record(args.path), args.out, source=args.path)
    print(f"report written to {out}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    if getattr(args, "gui", False):
        from advlens import gui_bench

        return gui_bench.main(quick=args.quick, as_json=args.json)
    if getattr(args, "sweep", False):
        try:
            from advlens.engine import sweep_bench
            from advlens.engine.cluster import DaskExecutor  # noqa: F401 - the bench needs Dask
        except ImportError as exc:
            raise ConfigError("advlens bench --sweep needs Dask: pip install 'advlens[cluster]'") from exc
        return sweep_bench.main(quick=args.quick, as_json=args.json, rounds=args.rounds)
    from advlens.engine import bench

    if args.quick:
        return bench.main(args.device, quick=True, as_json=args.json, memory=not args.no_memory,
                          threads=args.threads)
    return bench.main(args.device, as_json=args.json, rounds=args.rounds or 9, threads=args.threads,
                      sizes=tuple(args.sizes), batches=tuple(args.batches), steps=args.steps,
                      memory=not args.no_memory, memory_steps=(20, args.memory_steps))


COMMANDS = {"attack": _cmd_attack, "attacks": _cmd_attacks, "resolution": _cmd_resolution, "sweep": _cmd_sweep, "analyze": _cmd_analyze, "bench": _cmd_bench, "models": _cmd_models, "samples": _cmd_samples, "stability": _cmd_stability, "train-demo": _cmd_train}
COMMANDS["runs"] = _cmd_runs


def guessed_card_json(exc) -> str:
    """The card guessed for a file without one, as the one-line JSON to save beside it."""
    from advlens.engine.loaders import imagenet_labels

    card = exc.suggestion
    labels = "imagenet" if card.labels == imagenet_labels() else card.labels
    data = {"name": card.name, "labels": labels, "mean": card.mean, "std": card.std, "input_size": card.input_size}
    if exc.needs_architecture:
        data["architecture"] = "NAME (advlens.shapes_cnn, torchvision:NAME, timm:NAME or transformers:CLASS)"
    return json.dumps(data)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `advlens` command; with no command, the GUI."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in (None, "gui"):
        from advlens.gui import run_gui

        return run_gui(args if args.command else parser.parse_args(["gui"]))
    from advlens.engine.errors import AdvLensError, AttackFailed, Cancelled, ModelCardMissing

    try:
        return COMMANDS[args.command](args)
    except (AttackFailed, Cancelled) as exc:
        sys.stderr.write(f"advlens: error: {exc}\n")
        return EXIT_FAILED
    except ModelCardMissing as exc:  # still one line: the message, then the card guessed, to check and save
        guess = (f"; the card AdvLens guessed, to check and save as {Path(exc.path).with_suffix('.json').name}: "
                 f"{guessed_card_json(exc)}" if exc.suggestion is not None else "")
        sys.stderr.write(f"advlens: error: {exc}{guess}\n")
        return EXIT_BAD_INPUT
    except AdvLensError as exc:
        sys.stderr.write(f"advlens: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("advlens: interrupted\n")
        return 130
    except OSError as exc:
        sys.stderr.write(f"advlens: error: {exc.strerror or exc}: {exc.filename or ''}\n")
        return EXIT_BAD_INPUT
