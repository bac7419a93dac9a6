"""The sweep executor: plain-data jobs, futures, cancel, errors, seeds, the model cache, and the sweeps on it.

No sleeps as synchronisation: a gated model holds one forward pass until the test releases it, and
every wait has a timeout.
"""

from __future__ import annotations

import json
import pickle
import threading

import numpy as np
import pytest
import torch
from torch import nn

from advlens.engine import AttackConfig
from advlens.engine.analysis import robust_accuracy_curve
from advlens.engine.errors import AttackFailed, Cancelled, ModelLoadError
from advlens.engine.executor import InProcessExecutor, SweepJob, SweepResult, run_job
from advlens.engine.jobs import JobWorker, Progress
from advlens.engine.labs.resolution import ResolutionLabConfig, run_resolution_lab
from advlens.engine.loaders import load_demo_model
from advlens.engine.model import Model
from advlens.engine.units import parse_eps_range
from tests.conftest import demo_images

WAIT = 60  # seconds: a bound for a stuck test, never a synchronisation


@pytest.fixture(scope="module")
def images16() -> tuple[np.ndarray, np.ndarray]:
    x, y = demo_images(4, 16, offset=700)
    return x.numpy(), y.numpy()


def pgd_job(model: str, images16, steps: int = 3, seed: int = 0, **kw) -> SweepJob:
    x, y = images16
    attack = AttackConfig(attack="pgd", norm="linf", eps=4 / 255, steps=steps, seed=seed).to_dict()
    return SweepJob(model, attack, x, y, seed=seed, device="cpu", **kw)


class Gate(nn.Module):
    """Wraps a network: counts forward passes and holds pass `hold_at` until `release` is set."""

    def __init__(self, net: nn.Module, hold_at: int):
        super().__init__()
        self.net = net
        self.hold_at = hold_at
        self.calls = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.hold_at:
            self.holding.set()
            assert self.release.wait(WAIT)
        return self.net(x)


class Broken(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("CUDA error: device-side assert triggered\nCompile with TORCH_USE_CUDA_DSA")


class CancelWatch(InProcessExecutor):
    """An in-process executor that says when someone asked one of its jobs to cancel."""

    def __init__(self) -> None:
        super().__init__()
        self.cancel_asked = threading.Event()

    def submit(self, job: SweepJob):
        future = super().submit(job)
        cancel = future.cancel

        def watched() -> bool:
            self.cancel_asked.set()
            return cancel()

        future.cancel = watched
        return future


def test_jobs_and_results_are_plain_data(images16):
    job = pgd_job("demo", images16, tag="eps=4/255")
    json.dumps(job.attack)
    back = pickle.loads(pickle.dumps(job))
    assert (back.model, back.attack, back.tag, back.seed) == ("demo", job.attack, job.tag, job.seed)
    assert np.array_equal(back.images, job.images) and np.array_equal(back.labels, job.labels)
    result = run_job(back, load_demo_model("cpu"))
    again = pickle.loads(pickle.dumps(result))
    assert isinstance(again, SweepResult) and again.tag == "eps=4/255"
    assert np.array_equal(again.success, result.success)
    assert np.array_equal(again.adversarial, result.adversarial)
    assert again.norms == result.norms and result.success.dtype == bool and len(result.norms["l2"]) == 4


def test_an_analysis_job_carries_its_own_function_by_name(demo_model, images16):
    """The executor names nothing above it: a job of an analysis' own kind brings its function, which
    pickles by module and name (so a Dask worker imports it); a method without one is refused."""
    from advlens.engine.analysis.noise import noise_job
    from advlens.engine.errors import ConfigError

    config = AttackConfig(steps=2, eps=4 / 255)
    x, y = images16
    job = SweepJob("demo", config.to_dict(), x[:2], y[:2], method="noise", device="cpu",
                   function=noise_job, keep_adversarial=False, params={"trials": 2})
    back = pickle.loads(pickle.dumps(job))
    assert back.function is noise_job
    result = run_job(back, demo_model)
    assert set(result.values) == {"adversarial", "gaussian", "uniform"} and len(result.success) == 2
    for bad in (SweepJob("demo", config.to_dict(), job.images, job.labels, method="noise"),
                SweepJob("demo", config.to_dict(), job.images, job.labels, function=noise_job)):
        with pytest.raises(ConfigError):
            run_job(bad, demo_model)


def test_results_arrive_as_futures_and_as_they_finish(images16):
    with InProcessExecutor() as ex:
        futures = [ex.submit(pgd_job("demo", images16, tag=str(i))) for i in range(2)]
        results = [f.result(timeout=WAIT) for f in futures]
        assert [r.tag for r in results] == ["0", "1"]
        assert all(r.adversarial.shape == images16[0].shape for r in results)
        jobs = [pgd_job("demo", images16, tag=t, keep_adversarial=False) for t in "ab"]
        seen = dict(ex.map_as_completed(jobs))
        assert sorted(seen) == [0, 1] and seen[1].tag == "b" and seen[0].adversarial is None


def test_cancel_all_stops_a_running_job_within_one_step_and_cancels_queued_ones(demo_model, images16):
    gate = Gate(demo_model.network, hold_at=3)
    with InProcessExecutor() as ex:
        key = ex.register_model(Model(gate, demo_model.card))
        long = ex.submit(pgd_job(key, images16, steps=10_000))
        queued = ex.submit(pgd_job(key, images16))
        assert gate.holding.wait(WAIT)  # the long job is inside its third step
        ex.cancel_all()
        gate.release.set()
        with pytest.raises(Cancelled):
            long.result(timeout=WAIT)
        assert queued.cancelled()
        assert gate.calls == 3  # the step under way finished; no further step started
        assert ex.submit(pgd_job("demo", images16)).result(timeout=WAIT).success.shape == (4,)


def test_a_failing_job_raises_a_plain_engine_error_and_the_executor_keeps_working(demo_model, images16):
    with InProcessExecutor() as ex:
        broken = ex.register_model(Model(Broken(), demo_model.card))
        error = ex.submit(pgd_job(broken, images16)).exception(timeout=WAIT)
        assert isinstance(error, AttackFailed) and not isinstance(error, RuntimeError)
        assert str(error) == "the model failed during the attack: CUDA error: device-side assert triggered"
        missing = ex.submit(pgd_job("no-such-model", images16)).exception(timeout=WAIT)
        assert isinstance(missing, ModelLoadError) and "no model 'no-such-model'" in str(missing)
        assert isinstance(ex.submit(pgd_job("demo", images16)).result(timeout=WAIT), SweepResult)


def test_jobs_with_the_same_seed_give_identical_results_whatever_runs_beside_them(images16):
    alone = run_job(pgd_job("demo", images16, seed=7), load_demo_model("cpu"))
    with InProcessExecutor(max_workers=2) as ex:
        a, b, other = (ex.submit(pgd_job("demo", images16, seed=s)) for s in (7, 7, 8))
        a, b, other = a.result(timeout=WAIT), b.result(timeout=WAIT), other.result(timeout=WAIT)
    for result in (a, b):
        assert np.array_equal(result.adversarial, alone.adversarial)
        assert np.array_equal(result.success, alone.success) and result.norms == alone.norms
    assert not np.array_equal(other.adversarial, alone.adversarial)  # the seed reaches the random start


def test_the_model_cache_loads_a_model_once_for_many_jobs(images16):
    loads: list[tuple[str, str]] = []

    def loader(spec: str, device: str) -> Model:
        loads.append((spec, device))
        return load_demo_model("cpu")

    with InProcessExecutor(max_workers=2, loader=loader) as ex:
        futures = [ex.submit(pgd_job("demo", images16, steps=1)) for _ in range(4)]
        assert all(isinstance(f.result(timeout=WAIT), SweepResult) for f in futures)
        assert loads == [("demo", "cpu")] and ex.models.loads == 1


def test_sweeps_take_an_executor_and_give_the_same_numbers_on_it(demo_model):
    x, y = demo_images(6, 16, offset=800)
    config = AttackConfig(attack="pgd", norm="linf", steps=3)
    eps = parse_eps_range("0:6:2/255")
    reported: list[list[float]] = []
    default = robust_accuracy_curve(demo_model, x, y, config, eps,
                                    progress=Progress(lambda d, t, p: reported.append(list(p.eps))))
    assert reported == [eps[: i + 1] for i in range(len(eps))]  # in epsilon order, one point per job
    lab = ResolutionLabConfig(images="demo:3", resolutions=[16, 24], norms=["l2"], steps=10, bootstrap=20)
    with InProcessExecutor(max_workers=2) as ex:
        on_it = robust_accuracy_curve(demo_model, x, y, config, eps, executor=ex)
        assert on_it.to_dict() == default.to_dict()
        on_executor = run_resolution_lab(lab, model=demo_model, executor=ex)
        assert ex.submit(pgd_job("demo", (x.numpy(), y.numpy()))).result(timeout=WAIT)  # still usable
    inline = run_resolution_lab(lab, model=demo_model)
    as_json = [json.dumps(r.to_json_dict(), default=float) for r in (on_executor, inline)]
    assert as_json[0] == as_json[1]


def test_a_cancelled_sweep_stops_its_jobs_on_the_callers_executor_and_leaves_it_usable(demo_model, images16):
    gate = Gate(demo_model.network, hold_at=3)  # forward 1: clean accuracy; 2, 3: the first job's steps
    model = Model(gate, demo_model.card)
    x, y = (torch.from_numpy(a) for a in images16)
    runner, ex = JobWorker(supersede=True), CancelWatch()
    try:
        handle = runner.submit(lambda control: robust_accuracy_curve(
            model, x, y, AttackConfig(steps=10_000), [2 / 255, 4 / 255], executor=ex, progress=control))
        assert gate.holding.wait(WAIT)
        handle.cancel()
        assert ex.cancel_asked.wait(WAIT)  # the sweep passed the stop on to its jobs
        gate.release.set()
        outcome = handle.wait(timeout=WAIT)
        assert outcome.kind == "cancelled" and gate.calls == 3
        assert isinstance(ex.submit(pgd_job("demo", images16)).result(timeout=WAIT), SweepResult)
    finally:
        gate.release.set()
        runner.shutdown()
        ex.shutdown()
