"""Helpers for the real-model tests: the CLI in-process, a non-square photo."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from advlens.cli import main


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def attack_json(argv: list[str], capsys) -> tuple[dict, str]:
    code, out, err = run_cli(["attack", *argv, "--json", "--device", "cpu"], capsys)
    assert code == 0, err
    return json.loads(out), err


def photo(path: Path, width: int, height: int, seed: int = 0) -> Path:
    """A smooth non-square 'photo' (random colours, bicubic-enlarged)."""
    rng = np.random.default_rng(seed)
    small = (rng.random((max(2, height // 10), max(2, width // 10), 3)) * 255).astype(np.uint8)
    Image.fromarray(small).resize((width, height), Image.BICUBIC).save(path)
    return path
