"""Build the one-folder bundle dist/advlens/ with PyInstaller (packaging/advlens.spec), timed and measured.

Run from any folder with the project's venv: `.venv/bin/python packaging/build_bundle.py` (what `make bundle`
does, after installing the pinned PyInstaller). Prints the build time and the bundle's size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "advlens.spec"


def folder_size(folder: Path) -> int:
    """Bytes in the files under folder (links counted once, as themselves)."""
    total = 0
    for base, _dirs, files in os.walk(folder):
        for name in files:
            total += os.lstat(os.path.join(base, name)).st_size
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        help="PyInstaller's work folder (default: build/pyinstaller)")
    parser.add_argument("--log-level", default="WARN", help="PyInstaller log level (default: WARN)")
    parser.add_argument("--clean", action="store_true", help="empty PyInstaller's cache first")
    args = parser.parse_args(argv)
    try:
        import PyInstaller.__main__ as pyinstaller
    except ImportError:
        sys.stderr.write("build_bundle: PyInstaller is not installed in this Python (make bundle installs it)\n")
        return 2
    start = time.monotonic()
    options = ["--noconfirm", f"--log-level={args.log_level}", "--distpath", str(args.dist), "--workpath", str(args.work)]
    pyinstaller.run(options + (["--clean"] if args.clean else []) + [str(SPEC)])
    seconds = time.monotonic() - start
    bundle = args.dist / "advlens"
    executable = bundle / "advlens"
    if not executable.is_file():
        sys.stderr.write(f"build_bundle: no executable at {executable}\n")
        return 1
    files = sum(len(names) for _base, _dirs, names in os.walk(bundle))
    print(f"bundle: {bundle} ({folder_size(bundle) / 2**20:.0f} MiB in {files} files), "
          f"built in {seconds / 60:.1f} min ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
