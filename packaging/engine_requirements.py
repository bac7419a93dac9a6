"""Print the requirements of the engine alone: pyproject's dependencies and test extra without Qt.

`make test-engine-alone` installs these into a venv without PySide6 and pyqtgraph and runs
tests/engine there, proving the engine stands alone (DESIGN.md). Read from pyproject.toml, so the
lists are written once.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

GUI_ONLY = {"pyside6-essentials", "pyside6", "pyqtgraph", "pytest-qt", "superqt", "import-linter", "ruff"}


def engine_requirements(pyproject: Path, with_gui: bool = False) -> list[str]:
    """Every requirement but torch (the venv brings its own), without the GUI's unless `with_gui`."""
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    name = re.compile(r"^\s*([A-Za-z0-9_.\-]+)")
    return [req for req in wanted if (with_gui or name.match(req).group(1).lower() not in GUI_ONLY)
            and not req.startswith("torch")]


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    # --with-gui: the models venv (make test-models) runs the GUI too, on its own torch
    sys.stdout.write("\n".join(engine_requirements(root / "pyproject.toml", "--with-gui" in sys.argv)) + "\n")
