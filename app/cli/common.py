"""What every sub-command shares: one-line argparse errors, exit codes, number parsers, the image-set,
scheduler and progress helpers.
"""

from __future__ import annotations

import argparse
import sys

from advlens.config_args import (
    resolution,
    whole_number,
)
from advlens.engine.config import FITS

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1

positive_int = whole_number("the value", 1, None)



def positive_ints(text: str) -> list[int]:
    """A comma list of whole numbers of at least 1 (the bench's sizes and batches)."""
    values = [positive_int(t.strip()) for t in text.split(",") if t.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"expected a comma list of whole numbers, got '{text}'")
    return values


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)


def window_size(text: str) -> tuple[int, int]:
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



def add_scheduler_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", default=None, metavar="WHERE", help=SCHEDULER_HELP)


def scheduler(args: argparse.Namespace) -> str:
    """The scheduler string in force (the flag, else $ADVLENS_SCHEDULER), checked before anything loads."""
    from advlens.engine.schedulers import parse_scheduler, scheduler_from

    text = scheduler_from(getattr(args, "scheduler", None))
    parse_scheduler(text)
    return text


def add_set_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="demo", help="bundled model name or model file")
    p.add_argument("--images", default="demo:64", help="demo:N (held-out demo scenes) or a folder of images")
    p.add_argument("--resolution", type=resolution, default=32, help="images are drawn/resampled to N x N")
    p.add_argument("--fit", default="auto", choices=FITS,
                   help="how photos meet a fixed-size model: crop (resize, then centre crop), squash or pad; "
                        "auto crops where the model's own preprocessing does")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_scheduler_arg(p)


def progress_printer():
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


def print_notes(notes: list[str]) -> None:
    for note in notes:
        sys.stderr.write(f"advlens: note: {note}\n")
