"""Command-line flags generated from the config dataclasses, so each setting is described once.

`add_config_arguments` turns the described fields of `RunConfig` / `AttackConfig` (engine/config.py:
help text, flag, kind, range) into argparse flags whose defaults are left out of the namespace;
`apply_arguments` then sets on a base config only what the person typed. So `--config run.json`
(the same JSON the GUI and run records use) plus a few flags gives that config with those changes,
and `--print-config` shows the result.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from advlens.engine.catalogue import attack_names, attack_spec
from advlens.engine.config import AttackConfig, RunConfig, described_fields
from advlens.engine.errors import ConfigError
from advlens.engine.units import format_budget, parse_budget

NATIVE = ("native", "none", "0")


def budget(text: str) -> float:
    try:
        return parse_budget(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def whole_number(name: str, minimum: float | None, maximum: float | None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got '{text}'") from exc
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be at least {int(minimum)}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{name} must be at most {int(maximum)}, got {value}")
        return value

    return parse


def resolution(text: str) -> int | None:
    if text.lower() in NATIVE:
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"resolution must be a whole number of pixels or 'native', got '{text}'") from exc
    if not 4 <= value <= 4096:
        raise argparse.ArgumentTypeError(f"resolution must be between 4 and 4096 pixels, got {value}")
    return value


def param(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got '{text}'")
    try:
        return name.strip(), float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"value of {name} must be a number, got '{value}'") from exc


def _default_text(f, default: Any) -> str:
    kind = f.metadata["kind"]
    if kind in ("switch", "negated", "params") or default is None:
        return ""
    if kind == "budget":
        return f" (default {format_budget(default, 'linf')})"
    return f" (default {default})"


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, only: Iterable[str] | None = None,
                         defaults: Any = None) -> None:
    """One flag per described field of `cls` (those in `only`, if given); absent flags set nothing.

    `defaults` (an instance of `cls`) is what the help texts call the default.
    """
    wanted = None if only is None else set(only)
    defaults = defaults if defaults is not None else cls()
    for f in described_fields(cls):
        if wanted is not None and f.name not in wanted:
            continue
        meta = f.metadata
        flag = meta["flag"] or "--" + f.name.replace("_", "-")
        options: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS,
                                   "help": meta["help"] + _default_text(f, getattr(defaults, f.name))}
        kind = meta["kind"]
        if kind == "switch":
            options.update(action="store_const", const=True)
        elif kind == "negated":
            options.update(action="store_const", const=False, help=f"turn off: {meta['help']}")
        elif kind == "params":
            options.update(action="append", type=param, metavar="NAME=VALUE")
        elif kind == "budget":
            options.update(type=budget)
        elif kind == "resolution":
            options.update(type=resolution)
        elif meta["choices"]:
            options.update(choices=list(meta["choices"]))
        elif "int" in str(f.type):
            options.update(type=whole_number(f.name.replace("_", " "), meta["minimum"], meta["maximum"]))
        parser.add_argument(flag, **options)


def apply_arguments(config: Any, args: argparse.Namespace) -> Any:
    """A copy of `config` with the fields the person typed (present in `args`) replaced."""
    changes = {}
    for f in fields(config):
        if f.name in vars(args) and f.metadata.get("help"):
            value = getattr(args, f.name)
            changes[f.name] = dict(value) if f.metadata["kind"] == "params" else value
    return replace(config, **changes)


def apply_attack_arguments(config: AttackConfig, args: argparse.Namespace, keep_steps: bool = False) -> AttackConfig:
    """`apply_arguments` for an attack: where the person typed no --steps, the chosen attack starts at
    its own default (the catalogue's `default_steps`: CW, FMN and DeepFool need more than PGD's 20),
    unless `keep_steps` (the steps came from a saved configuration)."""
    config = apply_arguments(config, args)
    if keep_steps or "steps" in vars(args) or config.attack not in attack_names():
        return config
    return replace(config, steps=attack_spec(config.attack).default_steps)


def add_run_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Every RunConfig and AttackConfig setting as a flag, plus --config FILE and --print-config."""
    parser.add_argument("--config", type=Path, default=None, metavar="JSON",
                        help="start from this run configuration (as the app saves it, or --print-config prints it)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the run configuration these flags give, as JSON, and exit")
    add_config_arguments(parser, RunConfig)
    add_config_arguments(parser, AttackConfig, defaults=AttackConfig(steps=default_steps_text()))


def default_steps_text() -> str:
    """'the attack's own: 20; cw, fmn 100; deepfool 50' for the --steps help."""
    by_steps: dict[int, list[str]] = {}
    for name in attack_names():
        by_steps.setdefault(attack_spec(name).default_steps, []).append(name)
    common = max(by_steps, key=lambda steps: len(by_steps[steps]))
    others = "; ".join(f"{', '.join(names)} {steps}" for steps, names in sorted(by_steps.items(), reverse=True)
                       if steps != common)
    return f"the attack's own: {common}" + (f"; {others}" if others else "")


def run_config_from(args: argparse.Namespace) -> RunConfig:
    """The run configuration of a command line: --config's file (else the defaults), then the flags."""
    base = RunConfig()
    if args.config is not None:
        try:
            text = Path(args.config).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the run configuration {args.config}: {exc}") from exc
        base = RunConfig.from_json(text)
    config = apply_arguments(base, args)
    return replace(config, attack=apply_attack_arguments(config.attack, args, keep_steps=args.config is not None))


def print_config(config: RunConfig) -> None:
    print(json.dumps(config.to_dict(), indent=2))
