"""Replay the hostile-case corpus through the real CLI and print a table: `make hostile`.

    python tests/hostile/run.py [--jobs N] [--only CLASS,...] [--table FILE.md] [--keep DIR]

Each case is the command line's own entry point (`advlens.cli.main(argv)`, what `python -m advlens ...`
runs) called in a worker process with its stdout and stderr captured and a time limit (a worker that
overruns is killed and replaced); `--fresh` starts `python -m advlens ...` anew for every case instead
(slower: each start imports torch). A case passes when the exit code is the expected one, stderr is one
line (no traceback) matching the expected words, the marker file of a hostile file does not exist and
the person's files are unchanged. Exit code 0 when every case passes. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import io
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import Case, build  # noqa: E402

CASE_TIMEOUT_S = 300


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("advlens: note:")
            and "Warning" not in line and not line.startswith("  warnings.warn")]


def worker_main() -> int:
    """A worker: one JSON argv per stdin line, `advlens.cli.main(argv)` run on it, one JSON answer per line."""
    from advlens.cli import main as cli_main

    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything written to the real stdout (C code, a trusted model) cannot corrupt the answers
    for line in sys.stdin:
        argv = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli_main(argv)
            except SystemExit as exc:  # argparse's errors
                code = exc.code if isinstance(exc.code, int) else 2
            except BaseException as exc:  # a case that escapes the CLI's handlers is a failure to report
                import traceback

                err.write("Traceback (most recent call last): escaped the CLI\n")
                err.write("".join(traceback.format_exception_only(type(exc), exc)))
                code = 1
        answers.write(json.dumps({"code": code, "out": out.getvalue()[-4000:], "err": err.getvalue()[-4000:]}) + "\n")
        answers.flush()
    return 0


class Worker:
    """A long-lived process that runs cases through the CLI's entry point; replaced when a case overruns."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env, self.cwd = env, cwd
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env,
                                        cwd=self.cwd)
        self.answers: queue.Queue = queue.Queue()
        process = self.process
        threading.Thread(target=lambda: [self.answers.put(line) for line in process.stdout], daemon=True).start()

    def run(self, argv: list[str]) -> tuple[int | None, str, str]:
        self.process.stdin.write(json.dumps(argv) + "\n")
        self.process.stdin.flush()
        try:
            answer = json.loads(self.answers.get(timeout=CASE_TIMEOUT_S))
        except queue.Empty:
            self.process.kill()
            self.process.wait()
            self.start()
            return None, f"(hung: killed after {CASE_TIMEOUT_S} s)", ""
        return answer["code"], answer["err"], answer["out"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def run_case(case: Case, env: dict[str, str], cwd: Path, worker: Worker | None = None) -> dict:
    started = time.monotonic()
    if worker is not None:
        code, err, out = worker.run(case.args)
    else:
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
    if argv is None and sys.argv[1:2] == ["--worker"]:
        return worker_main()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="a new `python -m advlens` process for every case")
    parser.add_argument("--jobs", type=int, default=1, help="cases run at once (each starts torch)")
    parser.add_argument("--only", default="", help="comma list of classes (pickle, corrupt, torchscript, ...)")
    parser.add_argument("--table", type=Path, default=None, help="also write the table to this Markdown file")
    parser.add_argument("--keep", type=Path, default=None, help="build the corpus here and keep it")
    parser.add_argument("--names", default="", help="only the cases whose name matches this regular expression")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="advlens-hostile-"))
    print(f"building the corpus in {root} ...", flush=True)
    cases = build(root / "corpus")
    if args.only:
        wanted = {k.strip() for k in args.only.split(",")}
        cases = [c for c in cases if c.kind in wanted]
    if args.names:
        cases = [c for c in cases if re.search(args.names, c.name)]
    env = dict(os.environ, ADVLENS_RUNS_DIR=str(root / "runs"), ADVLENS_PROBE_TIME_LIMIT="10",
               ADVLENS_SETTINGS=str(root / "settings.ini"), PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")
    cwd = root / "cwd"
    cwd.mkdir(exist_ok=True)
    print(f"{len(cases)} cases", flush=True)
    results: list[dict] = [None] * len(cases)  # type: ignore[list-item]
    ordered = [c for c in cases if c.kind != "out"] + [c for c in cases if c.kind == "out"]  # out cases in order
    index = {id(c): i for i, c in enumerate(cases)}
    workers: queue.Queue = queue.Queue()
    for _ in range(max(1, args.jobs)):
        workers.put(None if args.fresh else Worker(env, cwd))

    def one(case: Case) -> dict:
        worker = workers.get()
        try:
            return run_case(case, env, cwd, worker)
        finally:
            workers.put(worker)

    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        parallel = [c for c in ordered if c.kind != "out"]
        for case, result in zip(parallel, pool.map(one, parallel), strict=True):
            results[index[id(case)]] = result
            mark = "ok " if not result["problems"] else "BAD"
            print(f"{mark} [{case.kind}] {case.name}: {result['code']} {result['line'][:100]}", flush=True)
    for case in (c for c in ordered if c.kind == "out"):
        result = one(case)
        results[index[id(case)]] = result
        print(f"{'ok ' if not result['problems'] else 'BAD'} [{case.kind}] {case.name}: {result['code']} "
              f"{result['line'][:100]}", flush=True)
    while not workers.empty():
        worker = workers.get()
        if worker is not None:
            worker.close()
    text = table(results)
    print(text)
    if args.table:
        args.table.write_text(text)
    return 0 if all(not r["problems"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
