"""`engine/model.py` holds Model and ModelCard; loading lives in `engine/loaders/`, with no import circle.

The imports are read from the sources (not by importing them), so the test sees the module-level and
the function-level imports alike: a lazy import inside a function closes a circle as surely as a
top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ENGINE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _engine_imports(path: Path) -> set[str]:
    """The engine modules a source file imports (relative imports resolved), at any depth in the file."""
    package = _module_name(path).split(".") if path.name == "__init__.py" else _module_name(path).split(".")[:-1]
    package = [p for p in package if p]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
            if node.level - 1 > len(package):
                continue  # above the engine (advlens.resources)
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if target else alias.name)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("advlens.engine"):
            found.add(node.module[len("advlens.engine."):])
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ENGINE.rglob("*.py") if "__pycache__" not in p.parts}
    return {name: {m for m in _engine_imports(path) if m in modules and m != name} for name, path in modules.items()}


def test_model_py_holds_the_model_and_its_card_and_imports_no_loader():
    source = (ENGINE / "model.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    top_level = {node.name for node in tree.body if isinstance(node, ast.ClassDef | ast.FunctionDef)}
    assert top_level == {"Model", "ModelCard", "logits_of"}  # logits_of: how Model reads an output's logits
    assert not any(m == "loaders" or m.startswith("loaders.") for m in _engine_imports(ENGINE / "model.py"))


def test_no_import_circle_between_the_model_and_the_loaders():
    graph = _graph()
    scope = {name for name in graph if name == "model" or name.startswith("loaders")}

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            here = stack.pop()
            for nxt in graph.get(here, ()):
                if nxt == goal:
                    return True
                if nxt in scope and nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    circles = sorted(name for name in scope if reaches(name, name))
    assert circles == []


def test_no_loader_module_imports_a_private_name_from_another():
    for path in (ENGINE / "loaders").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_the_loaders_package_is_packaged():
    root = ENGINE.parent
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert '"advlens.engine.loaders" = "engine/loaders"' in pyproject and '"advlens.engine.loaders",' in pyproject
    assert not (ENGINE / "loaders.py").exists()
