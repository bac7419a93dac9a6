"""Names a package exports, imported from their modules on first use (PEP 562).

Why: `import advlens.engine` (and its `analysis` and `diagnostics` packages) must cost nothing and pull
in no torch, because the GUI process imports the torch-free parts beside them; a name is imported from
its module only when someone asks for it. One mechanism for every package that does this.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's `__getattr__` and `__dir__`: `exports` maps each name to the submodule that defines it;
    a name once imported is kept in the package's `namespace` (its globals())."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's own name
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
