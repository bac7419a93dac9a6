"""The GUI's (or a test's) side of the engine process: start, restart and stop it; submit jobs; poll.

Design note. `EngineClient` never blocks its caller: requests go to a sender thread, events come
from a receiver thread into a queue, and `poll()` — called from the GUI's timer, or a test's loop —
drains that queue, updates each `RemoteJob` and returns what happened as plain events. It imports
neither Qt nor torch (the GUI process has no torch), and it is where the two processes' fates are
kept apart, as Spyder keeps its kernel's and Jupyter's restarter does:

- a child that dies (segmentation fault, abort, killed for memory) is noticed through its exit code
  and the closed channel; every job it held ends 'failed' with one line saying what happened, its
  shared memory is removed, and a fresh engine starts (at most `restart_limit` times a minute);
- a job asked to stop that has not stopped within its grace period — a forward pass that never
  returns — ends the child (kill) and restarts it: `cancel_grace_s` for runs and predictions, so Stop
  acts within a second; `task_grace_s` for analyses and labs, whose pieces may each take seconds;
- a child that sends nothing, not even a heartbeat, for `hang_s` (a C extension holding the GIL)
  is treated the same way;
- `close()` asks the child to shut down, waits a little, then terminates and kills it: no orphan.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from .errors import AdvLensError
from .jobs import JobOutcome
from .protocol import (
    CONTROL_ACTIONS,
    LANES,
    ControlJob,
    EngineInfo,
    EngineLog,
    EngineSettings,
    ErrorInfo,
    Heartbeat,
    Hello,
    JobControlled,
    JobEnded,
    JobProgress,
    JobStarted,
    Ready,
    ReleaseJob,
    Shutdown,
    StartJob,
)
from .shared_telemetry import TelemetryLayout, TelemetryReader, unlink_segment

log = logging.getLogger(__name__)

_LOST = object()  # the receiver's word that the channel closed


# ---------------------------------------------------------------------- events poll() returns
@dataclass
class EngineStarted:
    """The child process is up (torch not loaded yet)."""

    pid: int


@dataclass
class EngineReady:
    info: EngineInfo
    restarted: bool


@dataclass
class EngineLost:
    """The engine process ended or stopped answering; `message` is the one line to show."""

    message: str
    restarting: bool


@dataclass
class JobUpdate:
    job: RemoteJob
    what: str  # started | progress | ended


@dataclass
class RemoteProgress:
    """A job's newest progress report, as the engine last sent it."""

    version: int = 0
    done: int = 0
    total: int = 0
    eta_s: float | None = None
    partial: Any = None


def describe_exit(code: int | None) -> str:
    """What an exit code means, in words."""
    if code is None:
        return "stopped answering"
    if code < 0:
        words = {signal.SIGSEGV: "crashed (segmentation fault)", signal.SIGABRT: "aborted",
                 signal.SIGKILL: "was killed (out of memory?)", signal.SIGBUS: "crashed (bus error)",
                 signal.SIGFPE: "crashed (arithmetic error)", signal.SIGILL: "crashed (illegal instruction)",
                 signal.SIGTERM: "was terminated"}
        try:
            return words.get(signal.Signals(-code), f"was ended by signal {signal.Signals(-code).name}")
        except ValueError:
            return f"was ended by signal {-code}"
    return f"exited with code {code}"


def job_title(job: Any) -> str:
    names = {"AttackRunJob": "the attack", "LoadModelJob": "loading a model", "PredictJob": "a prediction",
             "AnalysisJob": "an analysis", "LabJob": "a lab", "MoveModelJob": "moving the model",
             "SleepJob": "a wait",
             "DiagnoseRunJob": "the run's diagnostics"}
    return names.get(type(job).__name__, type(job).__name__)


class RemoteJob:
    """One job in the engine process, as its submitter sees it (updated by `EngineClient.poll`)."""

    def __init__(self, client: EngineClient, job_id: int, lane: str, job: Any, paused: bool, generation: int):
        self.client = client
        self.job_id = job_id
        self.lane = lane
        self.job = job
        self.paused = paused
        self.generation = generation
        self.state = "queued"  # queued | running | ended
        self.info: Any = None
        self.layout: TelemetryLayout | None = None
        self.telemetry: TelemetryReader | None = None
        self.progress = RemoteProgress()
        self.outcome: JobOutcome | None = None
        self.error: ErrorInfo | None = None
        self.elapsed_s = 0.0
        self.submitted_at = time.monotonic()
        self.cancel_asked_at: float | None = None
        self.acknowledged: list[str] = []  # the controls the engine has applied, in order
        self._released = False

    # ------------------------------------------------------------------ controls (never block)
    def pause(self) -> None:
        self.paused = True
        self._control("pause")

    def resume(self) -> None:
        self.paused = False
        self._control("resume")

    def step(self, count: int = 1) -> None:
        self.paused = True
        self._control("step", count)

    def cancel(self) -> None:
        if self.done():
            return
        if self.cancel_asked_at is None:
            self.cancel_asked_at = time.monotonic()
        self._control("cancel")

    def abandon(self, message: str = "cancelled: its window closed") -> None:
        """Cancel it in the engine and count it as cancelled now (a closing window waits for nothing)."""
        if self.done():
            return
        self._control("cancel")
        self.outcome = JobOutcome("cancelled", self.progress.partial, message)
        self.state = "ended"
        self.release()

    def _control(self, action: str, count: int = 1) -> None:
        if action not in CONTROL_ACTIONS:
            raise AdvLensError(f"unknown control '{action}'")
        if not self.done():
            self.client._send(ControlJob(self.job_id, action, count), self.generation)  # noqa: SLF001

    # ------------------------------------------------------------------ state
    def done(self) -> bool:
        return self.outcome is not None

    def poll(self) -> JobOutcome | None:
        return self.outcome

    @property
    def partial(self) -> Any:
        return self.progress.partial

    def release(self) -> None:
        """Done with its telemetry: close the mapping and let the engine remove the shared memory."""
        if self._released:
            return
        self._released = True
        if self.telemetry is not None:
            self.telemetry.close()
        if self.layout is not None:
            self.client._send(ReleaseJob(self.job_id), self.generation)  # noqa: SLF001
        if self.done():
            self.client.jobs.pop(self.job_id, None)  # nothing more will come for it

    def __repr__(self) -> str:
        return f"RemoteJob({self.job_id}, {type(self.job).__name__}, {self.state})"


class EngineClient:
    """Starts the engine process and talks to it; `poll()` from your loop or timer."""

    def __init__(self, settings: EngineSettings | None = None, cancel_grace_s: float = 0.75, hang_s: float = 60.0,
                 start_timeout_s: float = 300.0, restart_limit: int = 3, restart_window_s: float = 60.0,
                 task_grace_s: float = 10.0):
        self.settings = settings or EngineSettings()
        self.cancel_grace_s = cancel_grace_s
        self.task_grace_s = task_grace_s
        self.hang_s = hang_s
        self.start_timeout_s = start_timeout_s
        self.restart_limit = restart_limit
        self.restart_window_s = restart_window_s
        self.state = "stopped"  # stopped | starting | ready | failed
        self.info: EngineInfo | None = None
        self.pid: int | None = None
        self.jobs: dict[int, RemoteJob] = {}
        self.generation = 0
        self.restarts = 0
        self.last_message = ""
        self._ids = itertools.count(1)
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._outbox: queue.SimpleQueue | None = None
        self._process: mp.process.BaseProcess | None = None
        self._conn = None
        self._spawned_at = 0.0
        self._last_heard = 0.0
        self._losses: list[float] = []
        self._events: list[object] = []
        self._arrived = threading.Event()

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        """Spawn the engine process (returns at once; `poll()` says when it is ready)."""
        if self.state in ("starting", "ready"):
            return
        self._spawn()

    def _spawn(self) -> None:
        from . import engine_process

        self.generation += 1
        generation = self.generation
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(target=engine_process.main, args=(child, self.settings), name="advlens-engine",
                              daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.pid = process.pid
        self.info = None
        self.state = "starting"
        self._spawned_at = self._last_heard = time.monotonic()
        outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._outbox = outbox
        threading.Thread(target=self._receive, args=(parent, generation), name="advlens-engine-recv",
                         daemon=True).start()
        threading.Thread(target=self._deliver, args=(parent, outbox), name="advlens-engine-send",
                         daemon=True).start()

    def _receive(self, conn, generation: int) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                self._inbox.put((generation, _LOST))
                self._arrived.set()
                return
            except Exception as exc:  # noqa: BLE001 - an event this process cannot read is logged, not fatal
                self._inbox.put((generation, EngineLog(f"unreadable event from the engine: {exc}")))
                continue
            self._inbox.put((generation, message))
            self._arrived.set()

    @staticmethod
    def _deliver(conn, outbox: queue.SimpleQueue) -> None:
        while True:
            message = outbox.get()
            if message is None:
                return
            try:
                conn.send(message)
            except (OSError, ValueError):
                return

    def _send(self, message: object, generation: int | None = None) -> None:
        if generation is not None and generation != self.generation:
            return  # meant for an engine that is gone
        if self._outbox is not None:
            self._outbox.put(message)

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def close(self, timeout: float = 5.0) -> None:
        """End the engine process cleanly (Shutdown), else terminate, else kill; wait until it is gone."""
        process = self._process
        self.state = "stopped"
        for job in self.jobs.values():
            if job.telemetry is not None:
                job.telemetry.close()
        if process is not None:
            self._send(Shutdown())
            process.join(timeout)
            if process.is_alive():
                process.terminate()
                process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join(1.0)
        if self._outbox is not None:
            self._outbox.put(None)
        if self._conn is not None:
            self._conn.close()
        self._unlink_segments(list(self.jobs.values()))
        for job in self.jobs.values():
            if job.outcome is None:
                job.outcome = JobOutcome("cancelled", None, "the engine was closed")
                job.state = "ended"
        self._process = None
        self._outbox = None

    def restart(self, reason: str = "was restarted") -> None:
        """End the engine (its jobs fail) and start a fresh one."""
        self._lose(reason, killed=True, count_loss=False)

    # ------------------------------------------------------------------ jobs
    def submit(self, job: Any, lane: str = "explorer", paused: bool = False) -> RemoteJob:
        """Queue a job on a lane (a newer job on the same lane supersedes it); returns its handle."""
        if lane not in LANES:
            raise AdvLensError(f"unknown lane '{lane}': choose one of {', '.join(LANES)}")
        job_id = next(self._ids)
        remote = RemoteJob(self, job_id, lane, job, paused, self.generation)
        self.jobs[job_id] = remote
        if self.state == "failed" or self._process is None:
            self._end(remote, "failed", f"the engine is not running: {self.last_message or 'start it first'}",
                      ErrorInfo("EngineLost", self.last_message or "the engine is not running"))
            return remote
        self._send(StartJob(job_id, lane, job, paused))
        return remote

    def live_jobs(self) -> list[RemoteJob]:
        return [job for job in self.jobs.values() if not job.done()]

    def forget(self, job: RemoteJob) -> None:
        """The submitter is done with a job: its telemetry goes, and so does the client's record of it
        once it has ended."""
        job.release()

    # ------------------------------------------------------------------ polling
    def poll(self) -> list[object]:
        """Read what arrived, check the child's health; returns the events since the last call."""
        events, self._events = self._events, []
        while True:
            try:
                generation, message = self._inbox.get_nowait()
            except queue.Empty:
                break
            if generation != self.generation:
                continue
            if message is _LOST:
                if self.state not in ("stopped", "failed"):
                    self._lose(None)
                continue
            self._last_heard = time.monotonic()
            self._dispatch(message, events)
        self._check_health()
        events.extend(self._events)
        self._events = []
        return events

    def _dispatch(self, message: object, events: list[object]) -> None:
        if isinstance(message, Heartbeat):
            return
        if isinstance(message, Hello):
            self.pid = message.pid
            events.append(EngineStarted(message.pid))
        elif isinstance(message, Ready):
            self.state, self.info = "ready", message.info
            events.append(EngineReady(message.info, restarted=self.restarts > 0))
        elif isinstance(message, JobStarted):
            job = self.jobs.get(message.job_id)
            if job is None or job.done():
                return
            job.state = "running"
            if message.info is not None:
                job.info = message.info
            if message.telemetry is not None:
                job.layout = message.telemetry
                try:
                    job.telemetry = TelemetryReader(message.telemetry)
                except (FileNotFoundError, ValueError, OSError) as exc:
                    log.warning("cannot read the run's telemetry: %s", exc)
            events.append(JobUpdate(job, "started"))
        elif isinstance(message, JobControlled):
            job = self.jobs.get(message.job_id)
            if job is not None:
                job.acknowledged.append(message.action)
        elif isinstance(message, JobProgress):
            job = self.jobs.get(message.job_id)
            if job is None or job.done():
                return
            job.progress = RemoteProgress(message.version, message.done, message.total, message.eta_s, message.partial)
            events.append(JobUpdate(job, "progress"))
        elif isinstance(message, JobEnded):
            job = self.jobs.get(message.job_id)
            if job is None or job.done():
                return
            job.elapsed_s = message.elapsed_s
            self._end(job, message.kind, message.message, message.error, message.result)
            events.append(JobUpdate(job, "ended"))
            if job._released:  # noqa: SLF001 - its submitter is done with it: forget it
                self.jobs.pop(job.job_id, None)
        elif isinstance(message, EngineLog):
            self.last_message = message.message
            log.warning("engine: %s", message.message)

    @staticmethod
    def _end(job: RemoteJob, kind: str, message: str, error: ErrorInfo | None = None, result: Any = None) -> None:
        job.outcome = JobOutcome(kind, result, message)
        job.error = error
        job.state = "ended"

    def _check_health(self) -> None:
        if self.state in ("stopped", "failed") or self._process is None:
            return
        now = time.monotonic()
        if not self._process.is_alive():
            self._lose(None)
            return
        if self.state == "starting" and now - self._spawned_at > self.start_timeout_s:
            self._lose(f"did not start within {self.start_timeout_s:.0f} s", killed=True)
            return
        if self.state == "ready" and now - self._last_heard > self.hang_s:
            self._lose(f"stopped answering for {self.hang_s:.0f} s", killed=True)
            return
        for job in self.live_jobs():
            grace = self.grace_for(job.job)
            if job.cancel_asked_at is not None and now - job.cancel_asked_at > grace \
                    and job.generation == self.generation:
                self._lose(f"was ended because {job_title(job.job)} did not stop within "
                           f"{grace:.2g} s (a forward pass that does not return)", killed=True)
                return

    def grace_for(self, job: Any) -> float:
        """How long a job may take to honour a cancel before the engine is ended: a step (runs,
        predictions) or a piece of work (analyses, labs, loading)."""
        quick = type(job).__name__ in ("AttackRunJob", "PredictJob", "SleepJob")
        return self.cancel_grace_s if quick else self.task_grace_s

    def _lose(self, reason: str | None, killed: bool = False, count_loss: bool = True) -> None:
        """The engine is gone (or is being ended): fail its jobs, clean up, restart unless it keeps dying."""
        process = self._process
        if process is not None and process.is_alive() and killed:
            process.kill()
        if process is not None:
            process.join(2.0)
        code = process.exitcode if process is not None else None
        if reason is None:
            reason = describe_exit(code) if code is not None else "closed its channel"
        if self.info is None and self.state == "starting" and self.last_message:
            reason = f"{reason}: {self.last_message}"
        live = [job for job in self.jobs.values() if not job.done() and job.generation == self.generation]
        doing = f" while running {job_title(live[0].job)}" if live and not killed else ""
        message = f"The engine process {reason}{doing}"
        for job in live:
            kind = "cancelled" if job.cancel_asked_at is not None else "failed"
            self._end(job, kind, message, ErrorInfo("EngineLost", message))
            self._events.append(JobUpdate(job, "ended"))
        self._unlink_segments(live)
        if self._outbox is not None:
            self._outbox.put(None)
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn, self._outbox = None, None, None
        now = time.monotonic()
        if count_loss:
            self._losses = [t for t in self._losses if now - t < self.restart_window_s] + [now]
        self.last_message = message
        if len(self._losses) > self.restart_limit:
            self.state = "failed"
            self._events.append(EngineLost(f"{message}; it keeps failing, so it was not restarted", restarting=False))
            return
        self.restarts += 1
        self._spawn()
        self._events.append(EngineLost(f"{message}; restarting it", restarting=True))

    @staticmethod
    def _unlink_segments(jobs: list[RemoteJob]) -> None:
        for job in jobs:
            if job.telemetry is not None:
                job.telemetry.close()
            if job.layout is not None:
                unlink_segment(job.layout.name)

    # ------------------------------------------------------------------ for scripts and tests
    def wait_until(self, condition, timeout: float = 60.0, interval: float = 0.01) -> list[object]:
        """Poll until `condition()` holds (returns every event seen); TimeoutError if it never does.

        For scripts and tests only: the GUI polls from its timer and never waits.
        """
        seen: list[object] = []
        deadline = time.monotonic() + timeout
        while True:
            seen.extend(self.poll())
            if condition():
                return seen
            if time.monotonic() > deadline:
                raise TimeoutError(f"the engine did not get there within {timeout} s (state {self.state})")
            self._arrived.wait(interval)
            self._arrived.clear()

    def __enter__(self) -> EngineClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
