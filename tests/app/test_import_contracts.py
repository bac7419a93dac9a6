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
    contracts = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert contracts >= 3 and f"Contracts: {contracts} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "source", "edge"), [
    ("leak.py", "import PySide6.QtCore\n", "advlens.engine.leak -> PySide6"),
    ("units.py", None, "advlens.engine.units -> torch"),
    ("norms.py", "from advlens.engine import executor  # noqa\n", "advlens.engine.norms -> advlens.engine.executor"),
])
def test_the_contracts_catch_a_forbidden_import(tmp_path, module, source, edge):
    """The checks are real: an engine module importing PySide6, or the base layer importing torch, breaks them."""
    mirror = tmp_path / "m"
    mirror.mkdir()
    _mirror(mirror)
    engine_copy = mirror / "engine_copy"
    shutil.copytree(ROOT / "engine", engine_copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = engine_copy / module
    target.write_text(source if source is not None else target.read_text() + "\nimport torch  # noqa\n")
    os.unlink(mirror / "advlens" / "engine")
    os.symlink(engine_copy, mirror / "advlens" / "engine")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    env = dict(os.environ, PYTHONPATH=str(mirror))
    result = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml"), "--no-cache"], capture_output=True,
                            text=True, env=env, cwd=mirror, timeout=300)
    assert result.returncode != 0
    assert edge in result.stdout
