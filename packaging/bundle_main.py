"""Entry point of the frozen one-folder bundle (dist/advlens/advlens).

The same as the installed `advlens` script: with no command (or `gui ...`) the desktop app, with any other
command the CLI (`advlens attack ...`, `advlens models`, ...).
"""

from __future__ import annotations

import multiprocessing
import sys

from advlens.__main__ import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    if sys.argv[1:2] == ["--advlens-limited-child"]:  # loaders.sandbox.CHILD_FLAG: a limited load-time probe
        from advlens.engine.loaders.sandbox import child_main

        sys.exit(child_main())
    sys.exit(main())
