"""`advlens attack`: one attack on one image, its run record, and the indicators of attack failure in
plain words with their fixes as flags.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from advlens.config_args import (
    add_run_config_arguments,
    print_config,
    run_config_from,
)

from .common import (
    print_notes,
)


def add_parsers(sub) -> dict:
    """This module's sub-commands on `sub`; returns their functions by name."""
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
    return {"attack": _cmd_attack}


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
    print_notes(model.notes)
    job = prepare_job(config, model=model, label=args.label)
    print_notes(job.notes)
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
