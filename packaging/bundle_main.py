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
    sys.exit(main())
