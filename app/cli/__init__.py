"""The command line: `advlens attack|sweep|analyze|resolution|stability|runs|bench|... `, the same engine as the
GUI. One module per sub-command family (attack, sweeps, labs, listing, runs, bench), each adding its own
parsers and naming its functions; this one builds the parser and runs the command.

Bad input gets one line on stderr and exit code 2; an attack that fails while running exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import attack, bench, labs, listing, runs, sweeps
from .common import EXIT_BAD_INPUT, EXIT_FAILED, Parser, window_size

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "build_parser", "guessed_card_json", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="advlens", description="AdvLens: watch adversarial attacks happen. "
                     "With no command, opens the desktop app.")
    from advlens import __version__

    parser.add_argument("--version", action="version", version=f"advlens {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("--demo", action="store_true", help="open on the bundled demo model and sample")
    gui.add_argument("--run", action="store_true", help="start the attack as soon as the window is up")
    gui.add_argument("--screenshot", type=Path, metavar="PNG",
                     help="when the run ends, save a screenshot of the window here and exit")
    gui.add_argument("--image", help="image file or sample:NAME to open")
    gui.add_argument("--model", help="model to open (bundled name or file)")
    gui.add_argument("--fullscreen", action="store_true", help="start in full-screen demo mode")
    gui.add_argument("--screenshot-size", type=window_size, metavar="WxH", default=None,
                     help="window size for --screenshot, e.g. 1024x768 (default 1600x900)")
    # tests: toggle full-screen demo mode N times while the --run attack draws (the rest after it ends)
    gui.add_argument("--toggle-fullscreen", type=int, default=0, metavar="N", help=argparse.SUPPRESS)
    commands = {}
    for part in (attack, bench, sweeps, labs, listing, runs):
        commands.update(part.add_parsers(sub))
    parser.set_defaults(commands=commands)
    return parser


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
    from advlens.engine.allocator import tune_for_torch
    from advlens.engine.errors import AdvLensError, AttackFailed, Cancelled, ModelCardMissing

    tune_for_torch()  # the engine commands run torch in this process (see engine/allocator.py)

    try:
        return args.commands[args.command](args)
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
    except BrokenPipeError:  # `advlens attacks | head`: the reader has what it wanted; no error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("advlens: interrupted\n")
        return 130
    except OSError as exc:
        sys.stderr.write(f"advlens: error: {exc.strerror or exc}: {exc.filename or ''}\n")
        return EXIT_BAD_INPUT
