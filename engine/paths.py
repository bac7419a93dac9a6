"""Where AdvLens keeps a person's files: run records in the user's data folder ($ADVLENS_RUNS_DIR
overrides it for tests and portable installs). Torch-free: the GUI process and the CLI share it."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

RUNS_ENV = "ADVLENS_RUNS_DIR"


def default_runs_dir() -> Path:
    """Where run records go: $ADVLENS_RUNS_DIR, else the user's data folder."""
    env = os.environ.get(RUNS_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_path

    return user_data_path("advlens", appauthor=False) / "runs"


def new_record_path(attack: str, folder: Path | None = None) -> Path:
    """A fresh record folder name for a run of `attack`: 'YYYYmmdd-HHMMSS-micro-attack' in the runs folder."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return (folder or default_runs_dir()) / f"{stamp}-{attack}"
