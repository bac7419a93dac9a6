"""`advlens bench`: the engine against a hand-written loop, torchattacks and Foolbox; the window; the sweep
executors.
"""

from __future__ import annotations

import argparse

from advlens.config_args import (
    whole_number,
)
from advlens.engine.errors import ConfigError

from .common import (
    positive_int,
    positive_ints,
)


def add_parsers(sub) -> dict:
    """This module's sub-commands on `sub`; returns their functions by name."""
    bench = sub.add_parser("bench", help="time the engine against a hand-written PyTorch loop, torchattacks and "
                                         "Foolbox, interleaved; and its peak memory")
    bench.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N, mps")
    bench.add_argument("--quick", action="store_true", help="tiny sizes, few rounds (a smoke test)")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument("--rounds", type=whole_number("rounds", 1, 100), default=None,
                       help="interleaved rounds (default 9; --sweep --quick: 3; --gui: headless/drawn pairs per size, 5)")
    bench.add_argument("--threads", type=positive_int, default=1, help="torch threads for every implementation")
    bench.add_argument("--sizes", type=positive_ints, default=[32, 64, 128], help="image sizes, e.g. 32,64,128")
    bench.add_argument("--batches", type=positive_ints, default=[1, 64], help="batch sizes, e.g. 1,64")
    bench.add_argument("--steps", type=positive_int, default=20, help="PGD steps per run")
    bench.add_argument("--no-memory", action="store_true", help="skip the peak-memory rows")
    bench.add_argument("--no-allocator", action="store_true",
                       help="skip the malloc rows (the loop with glibc's settings vs the engine's, in two processes)")
    bench.add_argument("--memory-steps", type=positive_int, default=5000,
                       help="steps of the long peak-memory run at 256 px (beside a 20-step one)")
    bench.add_argument("--gui", action="store_true",
                       help="measure the window instead: engine steps/s with the Explorer drawing vs headless, "
                            "frames/s, event-loop latency, start-up, stalls with a slow model (offscreen, and "
                            "under Xvfb when installed)")
    bench.add_argument("--launches", type=whole_number("launches", 1, 50), default=None,
                       help="--gui: start-up launches timed (default 5)")
    bench.add_argument("--sweep", action="store_true",
                       help="measure the sweep executors instead: jobs/s and per-job overhead on the local pool "
                            "and on a 2-worker Dask LocalCluster (needs advlens[cluster]), rounds interleaved")
    return {"bench": _cmd_bench}


def _cmd_bench(args: argparse.Namespace) -> int:
    if getattr(args, "gui", False):
        from advlens import gui_bench

        return gui_bench.main(quick=args.quick, as_json=args.json, rounds=args.rounds, launches=args.launches)
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
                          allocator=not args.no_allocator, threads=args.threads)
    return bench.main(args.device, as_json=args.json, rounds=args.rounds or 9, threads=args.threads,
                      sizes=tuple(args.sizes), batches=tuple(args.batches), steps=args.steps,
                      memory=not args.no_memory, memory_steps=(20, args.memory_steps),
                      allocator=not args.no_allocator)
