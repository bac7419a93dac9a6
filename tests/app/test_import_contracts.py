"""The layering rules of DESIGN.md, checked by import-linter on the real sources.

import-linter scans a package's folder tree, but `advlens` is assembled from four top-level folders
by package-dir; so the test lays out a mirror tree of symlinks and runs the contracts on it.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAPPING = {"": "app", "engine": "engine", "widgets": "widgets", "resources": "resources"}


def _mirror(tmp: Path) -> Path:
    package = tmp / "advlens"
    package.mkdir()
    for sub, folder in MAPPING.items():
        target = package / sub if sub else package
        if sub:
            os.symlink(ROOT / folder, target)
        else:
            for item in (ROOT / folder).iterdir():
                if item.suffix == ".py":
                    os.symlink(item, package / item.name)
    return tmp


def _lint(tmp_path: Path, config: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("lint-imports is not installed in the test environment")
    env = dict(os.environ, PYTHONPATH=str(_mirror(tmp_path)))
    return subprocess.run([exe, "--config", str(config), "--no-cache"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)


def test_engine_is_qt_free_and_widgets_never_touch_torch(tmp_path):
    result = _lint(tmp_path, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def test_the_contract_catches_a_qt_import_in_the_engine(tmp_path):
    """The check is real: an engine module importing PySide6 breaks it."""
    mirror = tmp_path / "m"
    mirror.mkdir()
    _mirror(mirror)
    engine_copy = mirror / "engine_copy"
    shutil.copytree(ROOT / "engine", engine_copy, ignore=shutil.ignore_patterns("__pycache__"))
    (engine_copy / "leak.py").write_text("import PySide6.QtCore\n")
    os.unlink(mirror / "advlens" / "engine")
    os.symlink(engine_copy, mirror / "advlens" / "engine")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    env = dict(os.environ, PYTHONPATH=str(mirror))
    result = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"], capture_output=True,
                            text=True, env=env, cwd=mirror, timeout=300)
    assert result.returncode != 0
    assert "advlens.engine.leak -> PySide6" in result.stdout
