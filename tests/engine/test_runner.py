"""The threaded runner: pause, single step, cancel within a step, and every error reported."""

import threading

import pytest
import torch

from advlens.engine import AttackConfig, AttackRunner, RunConfig, prepare_job
from advlens.engine.model import Model, ModelCard


@pytest.fixture
def runner():
    r = AttackRunner()
    yield r
    r.shutdown()


def _job(model, steps=30, **kw):
    return prepare_job(RunConfig(image="sample:star", resolution=24, attack=AttackConfig(steps=steps, **kw)), model=model)


def test_a_run_finishes_with_a_record_and_all_steps(runner, demo_model):
    handle = runner.start(_job(demo_model, steps=5))
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


def test_started_paused_then_step_advances_exactly_one(runner, demo_model):
    handle = runner.start(_job(demo_model), paused=True)
    for expected in (1, 2, 3):
        handle.step()
        assert _wait_for_steps(handle, expected)
    # and no further step runs while paused: request a cancel, which ends the run where it is
    handle.cancel()
    event = handle.wait(timeout=60)
    assert event.kind == "cancelled"
    assert event.record.metrics["loss"].shape[0] == 3


def test_cancel_stops_within_one_step(runner, demo_model):
    handle = runner.start(_job(demo_model, steps=100_000))
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
def test_worker_errors_arrive_as_failed_events(runner, error, words):
    model = _failing_model(error)
    job = prepare_job(RunConfig(image="sample:star", resolution=16, attack=AttackConfig(steps=10)), model=model)
    event = runner.start(job).wait(timeout=60)
    assert event.kind == "failed"
    assert words in event.message
    assert "\n" not in event.message


def test_nan_loss_stops_the_run_and_names_the_step(runner):
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
    event = runner.start(job).wait(timeout=60)
    assert event.kind == "failed"
    assert "NaN/Inf at step 2" in event.message  # calls: the clean check (reused by the run), steps 0 and 1 fine


def test_starting_a_new_run_cancels_the_old_one(runner, demo_model):
    first = runner.start(_job(demo_model, steps=100_000))
    assert _wait_for_steps(first, 1)
    second = runner.start(_job(demo_model, steps=2))
    assert first.wait(timeout=60).kind == "cancelled"
    assert second.wait(timeout=60).kind == "finished"
