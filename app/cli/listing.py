"""`advlens attacks|models|samples` (what is bundled) and `advlens train-demo`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub) -> dict:
    """This module's sub-commands on `sub`; returns their functions by name."""
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
    return {"attacks": _cmd_attacks, "models": _cmd_models, "samples": _cmd_samples, "train-demo": _cmd_train}


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
