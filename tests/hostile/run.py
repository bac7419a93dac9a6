"""Replay the hostile-case corpus through the real CLI and print a table: `make hostile`.

    python tests/hostile/run.py [--jobs N] [--only CLASS,...] [--table FILE.md] [--keep DIR]

Each case runs `python -m advlens ...` in a fresh process with a time limit; it passes when the exit code
is the expected one, stderr is one line (no traceback) matching the expected words, the marker file of a
hostile file does not exist and the person's files are unchanged. Exit code 0 when every case passes.
Not part of `make test`: the corpus takes minutes (each case starts Python and torch).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import Case, build  # noqa: E402

CASE_TIMEOUT_S = 300


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("advlens: note:")
            and "Warning" not in line and not line.startswith("  warnings.warn")]


def run_case(case: Case, env: dict[str, str], cwd: Path) -> dict:
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "advlens", *case.args], capture_output=True, text=True,
                              timeout=CASE_TIMEOUT_S, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
        code, err, out = done.returncode, done.stderr, done.stdout
    except subprocess.TimeoutExpired:
        code, err, out = None, f"(hung: killed after {CASE_TIMEOUT_S} s)", ""
    seconds = time.monotonic() - started
    lines = _lines(err)
    problems = []
    expected = case.code if isinstance(case.code, tuple) else (case.code,)
    if code not in expected:
        problems.append(f"exit {code}, expected {'/'.join(map(str, expected))}")
    if "Traceback" in err:
        problems.append("traceback")
    if code not in (0, None) and len(lines) != 1:
        problems.append(f"{len(lines)} stderr lines")
    if case.words and code not in (0,) and not re.search(case.words, " ".join(lines), re.IGNORECASE):
        problems.append(f"message lacks /{case.words}/")
    if case.marker is not None and case.marker.exists():
        problems.append("MARKER CREATED")
    for path, content in case.keep.items():
        if not path.is_file() or path.read_bytes() != content:
            problems.append(f"{path.name} changed")
    if case.check is not None:
        extra = case.check()
        if extra:
            problems.append(extra)
    shown = lines[0] if lines else (out.strip().splitlines() or [""])[0]
    return {"case": case, "code": code, "line": shown[:160], "seconds": seconds, "problems": problems}


def table(results: list[dict]) -> str:
    rows = ["| # | class | case | produced | exit | s | result |", "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(results, 1):
        produced = r["line"].replace("|", "\\|")
        verdict = "pass" if not r["problems"] else "FAIL: " + "; ".join(r["problems"])
        rows.append(f"| {i} | {r['case'].kind} | {r['case'].name.replace('|', '/')} | {produced} | {r['code']} | "
                    f"{r['seconds']:.0f} | {verdict} |")
    counts = Counter(r["case"].kind for r in results)
    failed = Counter(r["case"].kind for r in results if r["problems"])
    summary = ["", "| class | cases | failed |", "|---|---|---|"]
    summary += [f"| {kind} | {n} | {failed.get(kind, 0)} |" for kind, n in sorted(counts.items())]
    summary.append(f"| all | {len(results)} | {sum(failed.values())} |")
    return "\n".join(rows + summary) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once (each starts torch)")
    parser.add_argument("--only", default="", help="comma list of classes (pickle, corrupt, torchscript, ...)")
    parser.add_argument("--table", type=Path, default=None, help="also write the table to this Markdown file")
    parser.add_argument("--keep", type=Path, default=None, help="build the corpus here and keep it")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="advlens-hostile-"))
    print(f"building the corpus in {root} ...", flush=True)
    cases = build(root / "corpus")
    if args.only:
        wanted = {k.strip() for k in args.only.split(",")}
        cases = [c for c in cases if c.kind in wanted]
    env = dict(os.environ, ADVLENS_RUNS_DIR=str(root / "runs"), ADVLENS_PROBE_TIME_LIMIT="10",
               ADVLENS_SETTINGS=str(root / "settings.ini"), PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    cwd = root / "cwd"
    cwd.mkdir(exist_ok=True)
    print(f"{len(cases)} cases", flush=True)
    results: list[dict] = [None] * len(cases)  # type: ignore[list-item]
    ordered = [c for c in cases if c.kind != "out"] + [c for c in cases if c.kind == "out"]  # out cases in order
    index = {id(c): i for i, c in enumerate(cases)}
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        parallel = [c for c in ordered if c.kind != "out"]
        for case, result in zip(parallel, pool.map(lambda c: run_case(c, env, cwd), parallel), strict=True):
            results[index[id(case)]] = result
            mark = "ok " if not result["problems"] else "BAD"
            print(f"{mark} [{case.kind}] {case.name}: {result['code']} {result['line'][:100]}", flush=True)
    for case in (c for c in ordered if c.kind == "out"):
        result = run_case(case, env, cwd)
        results[index[id(case)]] = result
        print(f"{'ok ' if not result['problems'] else 'BAD'} [{case.kind}] {case.name}: {result['code']} "
              f"{result['line'][:100]}", flush=True)
    text = table(results)
    print(text)
    if args.table:
        args.table.write_text(text)
    return 0 if all(not r["problems"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
