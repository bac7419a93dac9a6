"""The command line: `advlens attack|models|samples|train-demo|gui ...`, the same engine as the GUI.

Bad input gets one line on stderr and exit code 2; an attack that fails while running exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1



class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _budget(text: str) -> float:
    from advlens.engine.errors import ConfigError
    from advlens.engine.units import parse_budget

    try:
        return parse_budget(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _resolution(text: str) -> int | None:
    if text.lower() in ("native", "none", "0"):
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"resolution must be a whole number of pixels or 'native', got '{text}'") from exc
    if not 4 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"resolution must be between 4 and 4096 pixels, got {value}")
    return value


def _add_set_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="demo", help="bundled model name or model file")
    p.add_argument("--images", default="demo:64", help="demo:N (held-out demo scenes) or a folder of images")
    p.add_argument("--resolution", type=_resolution, default=32, help="images are drawn/resampled to N x N")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _progress_printer():
    """A one-line progress display on stderr (only when it is a terminal)."""
    from advlens.engine.tasks import Progress

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


def _param(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got '{text}'")
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"value of {name} must be a number, got '{value}'") from exc


def default_runs_dir() -> Path:
    from advlens.engine.runs import default_runs_dir as runs_dir

    return runs_dir()  # $ADVLENS_RUNS_DIR, else the user data folder: the same as the app's


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

    attack = sub.add_parser("attack", help="run one attack and write its run record")
    attack.add_argument("--model", default="demo",
                        help="bundled model ('demo'), torchvision:NAME, timm:NAME, or a model file (.safetensors, "
                             ".pt/.pth state dict, TorchScript, .pt2, .onnx) with a card beside it")
    attack.add_argument("--card", type=Path, default=None, metavar="FILE",
                        help="model card (JSON/TOML: name, labels, mean, std, input_size) for a file without one")
    attack.add_argument("--trust-pickle", action="store_true",
                        help="load a full Python pickle model; it can run any code in the file: only for files you trust")
    attack.add_argument("--onnx-runtime", action="store_true",
                        help="run an ONNX model in onnxruntime (black-box attacks only) instead of converting it "
                             "to PyTorch with onnx2torch")
    attack.add_argument("--image", default="sample:star", help="image file or sample:NAME (see 'advlens samples')")
    attack.add_argument("--attack", default="pgd", help="attack name (see 'advlens attacks')")
    attack.add_argument("--norm", default="linf", choices=["linf", "l2", "l1"], help="perturbation norm")
    attack.add_argument("--eps", type=_budget, default=8 / 255, help="budget in pixel units: 8/255, 0.5 ...")
    attack.add_argument("--steps", type=int, default=20, help="iterations (PGD)")
    attack.add_argument("--step-size", type=_budget, default=None, help="step size (default 2.5*eps/steps)")
    attack.add_argument("--no-random-start", action="store_true", help="start PGD at the image itself")
    attack.add_argument("--target", type=int, default=None, help="target class index (targeted attack)")
    attack.add_argument("--label", type=int, default=None,
                        help="true class index (default: known for samples, else the clean prediction)")
    attack.add_argument("--resolution", type=_resolution, default=64,
                        help="resample the image to N x N first ('native' keeps its size); samples are drawn at N")
    attack.add_argument("--filter", default="area", help="resampling filter: area, bilinear, bicubic, lanczos, nearest")
    attack.add_argument("--early-stop", action="store_true", help="stop updating once the attack succeeds")
    attack.add_argument("--seed", type=int, default=0, help="random seed (random start)")
    attack.add_argument("--restarts", type=int, default=1, help="run again from new random starts, keep the best")
    attack.add_argument("--param", action="append", default=[], type=_param, metavar="NAME=VALUE",
                        help="attack-specific setting, e.g. --param decay=1.0 (see 'advlens attacks')")
    attack.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    attack.add_argument("--out", type=Path, default=None, help="run record folder (default: a new folder in the user data dir)")
    attack.add_argument("--no-save", action="store_true", help="do not write a run record")
    attack.add_argument("--json", action="store_true", help="print the result as JSON on stdout")

    bench = sub.add_parser("bench", help="time the engine's attack loop against a hand-written PyTorch loop")
    bench.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    bench.add_argument("--quick", action="store_true", help="a few steps only (a smoke test)")
    bench.add_argument("--json", action="store_true", help="print JSON")

    sweep = sub.add_parser("sweep", help="robust accuracy against epsilon over a set of images")
    _add_set_args(sweep)
    sweep.add_argument("--attack", default="pgd", help="fixed-budget attack (pgd, apgd-ce, fgsm, ...)")
    sweep.add_argument("--norm", default="linf", choices=["linf", "l2", "l1"])
    sweep.add_argument("--eps", default="0:16:1/255", help="START:STOP:STEP (0:16:1/255) or a list a,b,c")
    sweep.add_argument("--steps", type=int, default=20)
    sweep.add_argument("--restarts", type=int, default=1)

    analyze = sub.add_parser("analyze", help="minimal perturbations, loss landscape, noise vs attack, "
                             "transfer, frequency bands")
    analyze.add_argument("kind", choices=["minimal", "landscape", "noise", "transfer", "frequency"])
    _add_set_args(analyze)
    analyze.add_argument("--attack", default=None, help="attack (default: fmn for minimal, pgd otherwise)")
    analyze.add_argument("--norm", default=None, choices=["linf", "l2", "l1"])
    analyze.add_argument("--eps", type=_budget, default=8 / 255, help="budget for noise/transfer/frequency")
    analyze.add_argument("--steps", type=int, default=50)
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
    replay.add_argument("--json", action="store_true", help="print the verdict and the replayed record as JSON")
    report = verbs.add_parser("report", help="write a one-page, self-contained HTML report of a record")
    report.add_argument("path", type=Path, help="record folder")
    report.add_argument("--out", type=Path, required=True, help="HTML file to write")


def _cmd_models(args: argparse.Namespace) -> int:
    from advlens.engine.model import bundled_models, control_models

    for model in bundled_models():
        card = model.card
        acc = ", ".join(f"{k}px {v:.1%}" for k, v in card.clean_accuracy.items())
        size = f"{card.input_size}px" if card.input_size else "any size"
        print(f"{model.name:16s} {card.display_name} - {len(card.labels)} classes, {size}; clean accuracy {acc}")
    print("demo             alias of shapes-cnn")
    if control_models():
        print("demo-rN          alias of shapes-cnn-rN, the demo's network trained only at N px (Resolution lab "
              "control: advlens resolution --per-resolution-models)")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from advlens.engine import AttackConfig, load_model
    from advlens.engine.analysis import robust_accuracy_curve
    from advlens.engine.analysis.imagesets import parse_image_set
    from advlens.engine.units import parse_eps_range

    eps_list = parse_eps_range(args.eps)
    model = load_model(args.model, args.device)
    data = parse_image_set(args.images, args.resolution)
    config = AttackConfig(attack=args.attack, norm=args.norm, steps=args.steps, restarts=args.restarts, seed=args.seed)
    curve = robust_accuracy_curve(model, data.images, data.labels_for(model), config, eps_list,
                                  progress=_progress_printer())
    if args.json:
        print(json.dumps(curve.to_dict() | {"images_source": data.source}, indent=2))
        return 0
    unit = 255 if args.norm == "linf" else 1
    print(f"robust accuracy of {args.model} under {args.attack.upper()} {args.norm} on {len(data.images)} images "
          f"({data.source}, {args.resolution}px); clean {curve.clean_accuracy:.1%}")
    for eps, acc in zip(curve.eps, curve.accuracy, strict=True):
        label = f"{eps * 255:6.2f}/255" if unit == 255 else f"{eps:8.4f}"
        print(f"  eps {label}  {acc:6.1%}  {'#' * round(acc * 40)}")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:

    from advlens.engine import AttackConfig, load_model
    from advlens.engine import analysis as an
    from advlens.engine.analysis.imagesets import parse_image_set

    model = load_model(args.model, args.device)
    data = parse_image_set(args.images, args.resolution)
    labels = data.labels_for(model)
    progress = _progress_printer()
    norm = args.norm or ("l2" if args.kind in ("minimal", "landscape") else "linf")
    attack = args.attack or ("fmn" if args.kind in ("minimal", "landscape") else "pgd")
    config = AttackConfig(attack=attack, norm=norm, eps=args.eps, steps=args.steps, seed=args.seed)
    if args.kind == "minimal":
        result = an.minimal_perturbations(model, data.images, labels, config, progress=progress).to_dict()
    elif args.kind == "landscape":
        result = an.adversarial_landscape(model, data.images[0], int(labels[0]), config, progress=progress).to_dict()
    elif args.kind == "noise":
        result = an.noise_vs_attack(model, data.images, labels, config, progress=progress).to_dict()
    elif args.kind == "transfer":
        models = {args.model: model} | {name: load_model(name, args.device) for name in args.other_model}
        result = an.transfer_table(models, data.images, labels, config, progress=progress).to_dict()
    else:
        result = an.frequency_comparison(model, data.images, labels, config, progress=progress)
        result["bands"] = "finest first, last = residual"
    print(json.dumps(result, indent=None if not args.json else 2, default=float))
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
    from advlens.engine.model import control_models

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
    result = run_resolution_lab(config, progress=_progress_printer())
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
        print(f"  {s:4d}  {result.skipped.get(s, 0):7d}  {l2[j]:9.4f}  {rel[j]:9.5f}  {rms[j]:9.5f}  {linf[j] * 255:9.3f}"
              + (f"  {', '.join(result.models[s])}" if config.per_resolution else ""))
    failed = result.censored_counts()
    print("medians of the minimal perturbations found (failed searches, censored: "
          + ", ".join(f"{n.upper()} {c}" for n, c in failed.items()) + "); paired slopes against the side "
          "length s (n = 3 s^2):")
    for line in result.verdicts[1:]:
        print(f"  {line}")
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
    result = run_stability_lab(config, progress=_progress_printer())
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
    print(result.departures)
    print(f"({result.seconds:.0f} s)")
    return 0


def _cmd_attacks(args: argparse.Namespace) -> int:
    from advlens.engine.catalogue import attack_names, attack_spec

    for name in attack_names():
        spec = attack_spec(name)
        kind = "minimal-norm" if spec.is_minimal else "fixed budget"
        extras = [kind, "norms " + "/".join(spec.norms)]
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
    from advlens.engine import AttackConfig, RunConfig, load_model, prepare_job
    from advlens.engine.catalogue import attack_spec
    from advlens.engine.session import execute

    attack = AttackConfig(attack=args.attack, norm=args.norm, eps=args.eps, steps=args.steps,
                          step_size=args.step_size, random_start=not args.no_random_start,
                          target=args.target, seed=args.seed, early_stop=args.early_stop,
                          restarts=args.restarts, params=dict(args.param))
    config = RunConfig(model=args.model, image=args.image, resolution=args.resolution,
                       resample_filter=args.filter, device=args.device, attack=attack)
    model = load_model(args.model, args.device, card=args.card, trust_pickle=args.trust_pickle,
                       onnx_runtime=args.onnx_runtime)
    for note in model.notes:
        sys.stderr.write(f"advlens: note: {note}\n")
    job = prepare_job(config, model=model, label=args.label)
    for note in job.notes:
        sys.stderr.write(f"advlens: note: {note}\n")
    record = execute(job)
    out = None
    if not args.no_save:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        out = args.out or default_runs_dir() / f"{stamp}-{record.config.attack.attack}"
        record.save(out)
    if args.json:
        data = record.to_json_dict()
        data["record_path"] = str(out) if out else None
        print(json.dumps(data, indent=2))
        return 0
    cfg = record.config.attack
    names = record.class_names
    shape = record.original.shape
    budget = f"{cfg.eps:.4g} ({cfg.eps * 255:.2f}/255)" if cfg.norm == "linf" else f"{cfg.eps:.4g}"
    if attack_spec(cfg.attack).is_minimal:
        budget = "none (minimal-norm search)"
    goal = f"targeted at {names[cfg.target]} ({cfg.target})" if cfg.target is not None else "untargeted"
    print(f"model        {record.model_name} on {record.device}")
    print(f"image        {record.config.image} at {shape[-1]}x{shape[-2]}")
    print(f"attack       {cfg.attack.upper()} {cfg.norm} eps={budget} steps={cfg.steps} {goal}, seed {cfg.seed}")
    print(f"true class   {names[record.labels[0]]}")
    print(f"clean        {names[record.clean_pred[0]]} ({record.clean_conf[0]:.1%})")
    print(f"adversarial  {names[record.adv_pred[0]]} ({record.adv_conf[0]:.1%})")
    print(f"success      {'yes' if record.success[0] else 'no'}")
    print(f"norms        L0 {int(record.norms['l0'][0])}  L2 {record.norms['l2'][0]:.4f}  "
          f"Linf {record.norms['linf'][0]:.4f} ({record.norms['linf'][0] * 255:.2f}/255)")
    print(f"time         {record.duration_s:.2f} s for {record.steps_run} steps")
    if out:
        print(f"record       {out}")
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    from advlens.engine import runs

    if args.runs_command == "list":
        folder = args.dir or runs.default_runs_dir()
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
        model = None
        if args.card is not None or args.trust_pickle:
            from advlens.engine import load_model

            model = load_model(record.config.model, args.device or record.config.device, card=args.card,
                               trust_pickle=args.trust_pickle)
        result = runs.replay_record(record, device=args.device, model=model)
        for note in result.notes:
            sys.stderr.write(f"advlens: note: {note}\n")
        if args.out is not None:
            result.replayed.save(args.out)
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
    from advlens.engine import bench

    return bench.main(args.device, quick=args.quick, as_json=args.json)


COMMANDS = {"attack": _cmd_attack, "attacks": _cmd_attacks, "resolution": _cmd_resolution, "sweep": _cmd_sweep, "analyze": _cmd_analyze, "bench": _cmd_bench, "models": _cmd_models, "samples": _cmd_samples, "stability": _cmd_stability, "train-demo": _cmd_train}
COMMANDS["runs"] = _cmd_runs


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `advlens` command; with no command, the GUI."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in (None, "gui"):
        from advlens.gui import run_gui

        return run_gui(args if args.command else parser.parse_args(["gui"]))
    from advlens.engine.errors import AdvLensError, AttackFailed, Cancelled

    try:
        return COMMANDS[args.command](args)
    except (AttackFailed, Cancelled) as exc:
        sys.stderr.write(f"advlens: error: {exc}\n")
        return EXIT_FAILED
    except AdvLensError as exc:
        sys.stderr.write(f"advlens: error: {exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        sys.stderr.write("advlens: interrupted\n")
        return 130
    except OSError as exc:
        sys.stderr.write(f"advlens: error: {exc.strerror or exc}: {exc.filename or ''}\n")
        return EXIT_BAD_INPUT
