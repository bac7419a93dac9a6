"""The engine process's entry point: spawned by `client.EngineClient`, it owns torch, the models and every job.

Design note (Spyder's kernel is the model). This module imports no torch at the top: the GUI process
names `main` as the spawned process's target, and pickling that reference imports this module
there. In the child, `main` first starts a thread that reads the command channel (so the parent's
sends never wait while torch loads) and a heartbeat thread (so the parent can tell a busy engine
from a hung one), says hello, then sets torch's thread count — all cores but one unless the user
chose, so the GUI keeps a core on a small machine — imports torch and the server, and says ready.
Its main loop only hands requests to the server and sends progress; the work runs on the server's
lane workers. It ends on `Shutdown` or when the parent goes away (the channel closes), so it never
outlives the window. Ctrl-C is left to the parent: it ends the engine through the client.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import queue
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler

from .errors import describe_unexpected
from .protocol import (
    EngineLog,
    EngineSettings,
    ErrorInfo,
    Heartbeat,
    Hello,
    JobEnded,
    Ready,
    Shutdown,
    StartJob,
)

_IDLE = object()


class PlainPickler(ForkingPickler):
    """Pickles events for the GUI process, refusing torch objects: unpickling one would import torch there.

    A job whose result holds a tensor then ends 'failed' with a plain message instead of loading torch
    into the window's process.
    """

    def reducer_override(self, obj):  # noqa: ANN001 - pickle's hook
        module = getattr(type(obj), "__module__", "") or ""
        if module == "torch" or module.startswith("torch."):
            raise pickle.PicklingError(f"a {type(obj).__name__} (torch) cannot be sent to the window")
        return NotImplemented


def dumps(event: object) -> bytes:
    buffer = io.BytesIO()
    PlainPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(event)
    return buffer.getvalue()


def engine_threads(settings: EngineSettings) -> int:
    """torch threads for the engine: the user's choice, else every core but one (at least one)."""
    if settings.threads is not None:
        return max(1, int(settings.threads))
    return max(1, (os.cpu_count() or 1) - 1)


def main(conn: Connection, settings: EngineSettings) -> None:
    started = time.perf_counter()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="advlens engine: %(message)s", stream=sys.stderr)
    send_lock = threading.Lock()

    def send(event: object) -> None:
        data = dumps(event)  # raises here, before a byte is written, if it cannot be pickled
        with send_lock:
            conn.send_bytes(data)

    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                inbox.put(conn.recv())
            except (EOFError, OSError):
                inbox.put(None)  # the parent is gone: stop
                return
            except Exception as exc:  # noqa: BLE001 - a request that cannot be unpickled is reported, not fatal
                send(EngineLog(f"unreadable request: {describe_unexpected(exc)}"))

    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(settings.heartbeat_s):
            try:
                send(Heartbeat(time.time()))
            except OSError:
                return

    threading.Thread(target=read, name="advlens-engine-reader", daemon=True).start()
    send(Hello(os.getpid()))
    threading.Thread(target=beat, name="advlens-engine-heartbeat", daemon=True).start()
    threads = engine_threads(settings)
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        from .allocator import tune_for_torch

        tune_for_torch()  # before torch allocates: CPU steps at up to twice the speed (see allocator.py)
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set (only possible once per process)
            pass
        from .engine_server import EngineServer

        server = EngineServer(send, settings)
        send(Ready(server.info(round(time.perf_counter() - started, 3), round(time.process_time(), 3))))
    except BaseException as exc:  # noqa: BLE001 - the parent must hear why, in one line
        try:
            send(EngineLog(f"the engine could not start: {describe_unexpected(exc)}"))
        finally:
            os._exit(3)
    period = 1.0 / max(settings.progress_hz, 0.5)
    while True:
        try:
            request = inbox.get(timeout=period)
        except queue.Empty:
            request = _IDLE
        if request is None or isinstance(request, Shutdown):
            break
        if request is not _IDLE:
            try:
                server.handle(request)
            except Exception as exc:  # noqa: BLE001 - a request that cannot start still ends, with its reason
                if isinstance(request, StartJob):
                    send(JobEnded(request.job_id, "failed", None, str(exc),
                                  ErrorInfo(type(exc).__name__, str(exc))))
                else:
                    send(EngineLog(f"request failed: {describe_unexpected(exc)}"))
        server.tick()
    stop.set()
    server.shutdown()
    try:
        conn.close()
    finally:
        os._exit(0)  # worker threads still inside a forward pass must not keep the process alive
