"""The load-time probe of files that carry code, run in a short-lived child process with limits.

TorchScript and torch.export files are graphs of operators; graph_check allows only tensor maths, but a
graph can still loop forever, allocate without bound or hit a crash in torch's readers. So for those
formats the whole reading, checking and test forward first happens in a new child process with a wall-clock
limit, a CPU-time limit, an address-space limit and no right to grow a file (resource.setrlimit where
the platform has it). A hang, a crash or running out of memory there becomes one ModelLoadError line,
and the caller, the CLI or the GUI's engine process, goes on. Plain safetensors and weights-only state
dicts carry no code and are read in-process.

`run_limited` is the one mechanism (any picklable function, a JSON-able result); `source.probe_in_child`
is the model loader's use of it.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from ..errors import AdvLensError, ModelCardMissing, ModelLoadError, ModelOutputError, UntrustedModelError

CODE_FORMATS: tuple[str, ...] = ("torchscript", "export")  # formats whose probe runs in a child
TIME_LIMIT_ENV = "ADVLENS_PROBE_TIME_LIMIT"  # seconds; the hostile-case runner and tests shorten it
DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_MEMORY_LIMIT = 8 << 30  # address space of the child (torch alone maps about 1 GiB)
PROBE_THREADS = 2
MAX_ANSWER_BYTES = 64 << 20
STARTUP_LIMIT_S = 300.0  # starting Python and importing torch, before the time limit starts counting
_OUT_OF_MEMORY = "can't allocate memory"  # torch's CPU allocator, past the address-space limit
READY = b"R"  # the child's first byte: imports done, limits set, the work starts
_ERRORS = {cls.__name__: cls for cls in (ModelLoadError, UntrustedModelError, ModelOutputError, AdvLensError)}


@dataclass(frozen=True)
class Limits:
    """What a child may use: wall-clock seconds (also its CPU seconds), bytes of address space, and
    whether it may make files grow (not for untrusted files: a write that slipped through then fails)."""

    time_s: float = DEFAULT_TIME_LIMIT_S
    memory_bytes: int = DEFAULT_MEMORY_LIMIT
    may_write_files: bool = False

    @classmethod
    def default(cls, file_size: int = 0, may_write_files: bool = False) -> Limits:
        """The defaults, room for the file's weights twice over, and $ADVLENS_PROBE_TIME_LIMIT if set."""
        try:
            seconds = float(os.environ.get(TIME_LIMIT_ENV, DEFAULT_TIME_LIMIT_S))
        except ValueError:
            seconds = DEFAULT_TIME_LIMIT_S
        return cls(time_s=max(1.0, seconds), memory_bytes=DEFAULT_MEMORY_LIMIT + 3 * max(0, file_size),
                   may_write_files=may_write_files)


def _limit_self(limits: Limits) -> None:
    try:
        import resource
    except ImportError:  # Windows: the wall-clock limit still holds
        return
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime + limits.time_s * PROBE_THREADS) + 2  # the limit counts from start-up
    wanted = [("RLIMIT_AS", limits.memory_bytes), ("RLIMIT_CPU", cpu), ("RLIMIT_CORE", 0)]
    if not limits.may_write_files:
        wanted.append(("RLIMIT_FSIZE", 0))
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
    for name, value in wanted:
        which = getattr(resource, name, None)
        if which is None:
            continue
        try:
            _soft, hard = resource.getrlimit(which)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (cap, hard))
        except (ValueError, OSError):  # macOS refuses RLIMIT_AS; the others still apply
            pass


CHILD_FLAG = "--advlens-limited-child"  # the frozen bundle's entry point hands this argument to child_main


def child_command() -> list[str]:
    """How to start a child: this Python on this module, or the frozen bundle itself with CHILD_FLAG."""
    if getattr(sys, "frozen", False):
        return [sys.executable, CHILD_FLAG]
    return [sys.executable, "-c", "import sys; from advlens.engine.loaders.sandbox import child_main; "
                                  "sys.exit(child_main())"]


def child_main() -> int:
    """The child's whole life: read the job, limit itself, run it, write one JSON answer (never a pickle).

    The job arrives pickled on stdin from the parent (trusted data). The answer goes out on the original
    stdout, which is then pointed at stderr, so nothing the model prints can be mistaken for it.
    """
    answer_fd = os.dup(1)
    os.dup2(2, 1)
    function, args, limits, prepare = pickle.load(sys.stdin.buffer)  # from the parent process, not from the file
    try:
        import torch

        torch.set_num_threads(PROBE_THREADS)
    except ImportError:
        pass
    if prepare is not None:
        prepare()  # imports that are start-up, not the file's work: before the clock starts
    tempfile.gettempdir()  # found (by writing a test file) before files may no longer grow
    _limit_self(limits)
    os.write(answer_fd, READY)
    try:
        payload = {"ok": function(*args)}
    except MemoryError:
        payload = {"memory": True}
    except ModelCardMissing as exc:
        suggestion = exc.suggestion.to_dict() if hasattr(exc.suggestion, "to_dict") else None
        payload = {"error": "ModelCardMissing", "message": str(exc), "path": exc.path, "suggestion": suggestion,
                   "needs_architecture": exc.needs_architecture}
    except AdvLensError as exc:
        name = type(exc).__name__ if type(exc).__name__ in _ERRORS else "ModelLoadError"
        payload = {"memory": True} if _OUT_OF_MEMORY in str(exc) else {"error": name, "message": str(exc)}
    except BaseException as exc:  # the child reports whatever the file made it raise, in one line
        text = f"{type(exc).__name__}: {exc}".strip()
        if _OUT_OF_MEMORY in text:
            payload = {"memory": True}
        else:
            payload = {"error": "unexpected", "message": text.splitlines()[0][:300] if text else ""}
    with os.fdopen(answer_fd, "wb") as out:
        out.write(json.dumps(payload).encode("utf-8"))
    return 0


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _read_answer(process: subprocess.Popen, limits: Limits, what: str) -> bytes:
    """Everything the child writes on its answer pipe after READY, within the time limit; b"" if it died.

    The clock starts at READY, so a slow start (a busy machine importing torch) is not held against the file.
    """
    deadline = time.monotonic() + STARTUP_LIMIT_S
    started = False
    chunks: list[bytes] = []
    size = 0
    fd = process.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            if not started:
                raise ModelLoadError(f"cannot check {what}: the checking process did not start within "
                                     f"{STARTUP_LIMIT_S:.0f} s")
            raise ModelLoadError(f"{what} did not finish within {limits.time_s:.0f} s; it was stopped "
                                 f"(a model that hangs or is far too slow for AdvLens)")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        if not started:
            started = True
            deadline = time.monotonic() + limits.time_s
            if not chunk.startswith(READY):
                return b""
            chunk = chunk[len(READY):]
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise ModelLoadError(f"{what}: the checking process answered with too much data")
        chunks.append(chunk)


def run_limited(function, args: tuple, what: str, limits: Limits | None = None, prepare=None) -> object:
    """`function(*args)` in a fresh child process within `limits`; its JSON-able result, or one error line.

    `what` names the work for messages ("model.pt's test input"). The child's errors come back as the
    same AdvLens error types; a timeout, a crash or exhausted memory become ModelLoadError. Ctrl-C here
    ends the child at once. The child is a new interpreter (not a fork, and not multiprocessing, whose
    spawn re-runs an unguarded main script): it imports only this module and what the function needs.
    `prepare()`, if given, runs in the child before the limits and the clock start (slow imports).
    """
    limits = limits or Limits.default()
    job = pickle.dumps((function, args, limits, prepare))
    try:
        process = subprocess.Popen(child_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL if not sys.stderr else None, close_fds=True)
    except OSError as exc:
        raise ModelLoadError(f"cannot start a process to check {what}: {exc.strerror or exc}") from exc
    try:
        try:
            process.stdin.write(job)
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        raw = _read_answer(process, limits, what)
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        process.stdout.close()
    try:
        answer = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        answer = None
    if answer is None:
        if code is not None and code < 0 and -code == getattr(signal, "SIGXCPU", -1):
            raise ModelLoadError(f"{what} did not finish within {limits.time_s:.0f} s of CPU time; it was stopped "
                                 f"(a model that hangs or is far too slow for AdvLens)")
        if code is not None and code < 0:
            raise ModelLoadError(f"{what} crashed the process that checked it (it was ended by "
                                 f"{_signal_name(code)}); AdvLens went on")
        raise ModelLoadError(f"{what} ended the process that checked it without an answer (exit code {code})")
    if not isinstance(answer, dict):
        raise ModelLoadError(f"{what}: the checking process gave no readable answer")
    if "ok" in answer:
        return answer["ok"]
    if answer.get("memory"):
        raise ModelLoadError(f"{what} needs more than {limits.memory_bytes / 2**30:.0f} GiB of memory; it was stopped")
    message = str(answer.get("message", ""))[:1000]
    if answer.get("error") == "ModelCardMissing":
        from ..model import ModelCard

        data = answer.get("suggestion")
        suggestion = ModelCard.from_dict(data) if isinstance(data, dict) else None
        raise ModelCardMissing(message, path=str(answer.get("path", "")), suggestion=suggestion,
                               needs_architecture=bool(answer.get("needs_architecture")))
    if answer.get("error") == "unexpected":
        raise ModelLoadError(f"{what} failed: {message}")
    raise _ERRORS.get(str(answer.get("error")), ModelLoadError)(message)


def isolation_available() -> bool:
    """Whether this platform can start a child process with a pipe (not so in a browser build)."""
    return sys.platform not in ("emscripten", "wasi")


if __name__ == "__main__":
    sys.exit(child_main())
