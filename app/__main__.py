"""`python -m advlens` and the `advlens` launcher: the GUI, or the CLI when given a command."""

from __future__ import annotations

import sys


def main() -> int:
    from advlens.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
