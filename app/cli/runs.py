"""`advlens runs list|show|compare|replay|report`: saved run records from the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import (
    EXIT_FAILED,
    Parser,
)


def add_parsers(sub) -> dict:
    """This module's sub-commands on `sub`; returns their functions by name."""
    runs = sub.add_parser("runs", help="saved run records: list, show, compare, replay, report")
    verbs = runs.add_subparsers(dest="runs_command", parser_class=Parser, metavar="ACTION", required=True)
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
    return {"runs": _cmd_runs}


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
