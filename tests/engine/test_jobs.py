"""The one job model: pause, single step, cancel within a step, supersede, and every error reported."""

import threading

import pytest
import torch

from advlens.engine import AttackConfig, RunConfig, prepare_job, submit_attack
from advlens.engine.jobs import JobControl, JobWorker
from advlens.engine.model import Model, ModelCard


@pytest.fixture
def worker():
    w = JobWorker(name="advlens-attack", supersede=True)
    yield w
    w.shutdown()


def _job(model, steps=30, **kw):
    return prepare_job(RunConfig(image="sample:star", resolution=24, attack=AttackConfig(steps=steps, **kw)), model=model)


def test_a_run_finishes_with_a_record_and_all_steps(worker, demo_model):
    handle = submit_attack(worker, _job(demo_model, steps=5))
    event = handle.wait(timeout=120)
    assert event.kind == "finished"
    assert event.record.metrics["loss"].shape == (6, 1)
    assert handle.telemetry.steps_seen == 6


def _wait_for_steps(handle, count, timeout=60.0):
    ok = threading.Event()
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        handle.telemetry.drain()
        if handle.telemetry.steps_seen >= count:
            ok.set()
            break
        time.sleep(0.005)
    return ok.is_set()


def test_started_paused_then_step_advances_exactly_one(worker, demo_model):
    handle = submit_attack(worker, _job(demo_model), paused=True)
    for expected in (1, 2, 3):
        handle.step()
        assert _wait_for_steps(handle, expected)
    # and no further step runs while paused: request a cancel, which ends the run where it is
    handle.cancel()
    event = handle.wait(timeout=60)
    assert event.kind == "cancelled"
    assert event.record.metrics["loss"].shape[0] == 3


def test_cancel_stops_within_one_step(worker, demo_model):
    handle = submit_attack(worker, _job(demo_model, steps=100_000))
    assert _wait_for_steps(handle, 3)
    handle.cancel()
    event = handle.wait(timeout=60)
    handle.telemetry.drain()
    seen_at_cancel = handle.telemetry.steps_seen
    assert event.kind == "cancelled"
    assert event.record.metrics["loss"].shape[0] == seen_at_cancel
    assert seen_at_cancel < 100_000


class _FailingNet(torch.nn.Module):
    """Works for the clean check, then raises like CUDA running out of memory."""

    def __init__(self, fail_after: int, error: BaseException):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 10, 3)
        self.calls = 0
        self.fail_after = fail_after
        self.error = error

    def forward(self, x):
        self.calls += 1
        if self.calls > self.fail_after:
            raise self.error
        return self.conv(x).mean(dim=(2, 3))


def _failing_model(error, fail_after=2):
    card = ModelCard(name="failing", labels=[str(i) for i in range(10)], mean=[0, 0, 0], std=[1, 1, 1])
    return Model(_FailingNet(fail_after, error), card)


@pytest.mark.parametrize("error, words", [
    (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "CUDA out of memory"),
    (torch.cuda.OutOfMemoryError("CUDA out of memory"), "out of GPU memory"),
    (ValueError("shapes do not match"), "shapes do not match"),
    (KeyError("weird"), "KeyError"),
])
def test_worker_errors_arrive_as_failed_events(worker, error, words):
    model = _failing_model(error)
    job = prepare_job(RunConfig(image="sample:star", resolution=16, attack=AttackConfig(steps=10)), model=model)
    event = submit_attack(worker, job).wait(timeout=60)
    assert event.kind == "failed"
    assert words in event.message
    assert "\n" not in event.message


def test_nan_loss_stops_the_run_and_names_the_step(worker):
    class NanAfter(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.calls = 0
            self.lin = torch.nn.Linear(3, 10)

        def forward(self, x):
            self.calls += 1
            out = self.lin(x.mean(dim=(2, 3)))
            return out * float("nan") if self.calls > 3 else out

    card = ModelCard(name="nan", labels=[str(i) for i in range(10)])
    job = prepare_job(RunConfig(image="sample:star", resolution=16, attack=AttackConfig(steps=20)),
                      model=Model(NanAfter(), card))
    event = submit_attack(worker, job).wait(timeout=60)
    assert event.kind == "failed"
    assert "NaN/Inf at step 2" in event.message  # calls: the clean check (reused by the run), steps 0 and 1 fine


def test_starting_a_new_run_cancels_the_old_one(worker, demo_model):
    first = submit_attack(worker, _job(demo_model, steps=100_000))
    assert _wait_for_steps(first, 1)
    second = submit_attack(worker, _job(demo_model, steps=2))
    assert first.wait(timeout=60).kind == "cancelled"
    assert second.wait(timeout=60).kind == "finished"


def test_a_job_of_pieces_reports_partial_results_and_a_cancel_keeps_the_newest(worker):
    gate = threading.Event()
    reached = threading.Event()

    def pieces(control: JobControl) -> list[int]:
        done = []
        for i in range(1000):
            control.check()
            done.append(i)
            control.report(len(done), 1000, done)
            if i == 2:
                reached.set()
                assert gate.wait(60)
        return done

    handle = worker.submit(pieces)
    assert reached.wait(60)
    version, done, total, partial = handle.control.snapshot()
    assert (done, total, partial) == (3, 1000, [0, 1, 2]) and version == 3
    handle.cancel()
    gate.set()
    outcome = handle.wait(timeout=60)
    assert outcome.kind == "cancelled" and outcome.result == [0, 1, 2]


def test_a_superseding_worker_cancels_queued_and_running_jobs_and_runs_the_newest(worker):
    started = threading.Event()

    def hold(control: JobControl) -> str:
        started.set()
        while control.wait_to_continue():
            control.pause()  # hold until cancelled
        return "stopped"

    first = worker.submit(hold)
    assert started.wait(60)
    queued = worker.submit(lambda control: "queued")
    newest = worker.submit(lambda control: "newest")
    assert first.wait(timeout=60).result == "stopped"
    assert queued.cancelled() and queued.wait(timeout=60).kind == "cancelled"
    assert newest.wait(timeout=60).result == "newest" and worker.current is newest


def test_any_error_a_job_raises_reaches_its_handle_in_one_line_never_as_a_runtime_error():
    worker = JobWorker()
    try:
        boom = worker.submit(lambda control: (_ for _ in ()).throw(RuntimeError("first\nsecond line")))
        outcome = boom.wait(timeout=60)
        assert outcome.kind == "failed" and outcome.message == "the model failed during the attack: first"
        assert not isinstance(boom.exception(), RuntimeError)
        memory = worker.submit(lambda control: (_ for _ in ()).throw(MemoryError()))
        assert "out of memory" in memory.wait(timeout=60).message
        assert worker.submit(lambda control: 7).wait(timeout=60).result == 7  # the worker goes on
    finally:
        worker.shutdown()


def test_the_out_of_memory_translation_is_one_function_for_runs_and_sweeps():
    from advlens.engine.errors import AttackFailed, as_engine_error

    error = as_engine_error(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert isinstance(error, AttackFailed) and str(error).startswith("out of GPU memory")
    ours = AttackFailed("already ours")
    assert as_engine_error(ours) is ours
