"""Sweeps on a 2-worker Dask LocalCluster (loopback): the same numbers as the local pool, Cancel, a killed worker.

Marked `cluster` (make test-cluster; .ci/run runs it): starting the workers and torch in them takes
most of the time. Every wait is for a condition, with a bound for a stuck test, never a fixed sleep.
Both backends run torch on one thread: results are identical only with equal thread counts.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

distributed = pytest.importorskip("distributed")

from advlens.engine import AttackConfig  # noqa: E402
from advlens.engine.analysis import minimal_perturbations, robust_accuracy_curve  # noqa: E402
from advlens.engine.cluster import DaskExecutor, worker_loads  # noqa: E402
from advlens.engine.errors import Cancelled  # noqa: E402
from advlens.engine.executor import Executor, InProcessExecutor, SweepJob  # noqa: E402
from advlens.engine.loaders import load_demo_model  # noqa: E402
from advlens.engine.model import Model, ModelCard  # noqa: E402
from tests.conftest import demo_images  # noqa: E402

pytestmark = pytest.mark.cluster

WAIT = 120  # seconds: a bound for a stuck test, never a synchronisation
ENDLESS = 1_000_000  # attack steps no job finishes while a test runs: only a cancel ends it


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll `condition` until it holds (the waitUntil of these Qt-free tests); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        pause.wait(0.02)


@pytest.fixture(scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model(one_thread) -> Model:
    return load_demo_model("cpu")


@pytest.fixture(scope="module")
def dask_executor(one_thread):
    executor = DaskExecutor(workers=2, torch_threads=1)
    yield executor
    executor.shutdown()


@pytest.fixture(scope="module")
def images():
    x, y = demo_images(6, 16, offset=900)
    return x, y


def pgd_jobs(key: str, images, steps: int = 8, count: int = 4) -> list[SweepJob]:
    x, y = images
    return [SweepJob(key, AttackConfig(attack="pgd", norm="linf", eps=(2 + 2 * i) / 255, steps=steps,
                                       random_start=True).to_dict(),
                     x.numpy(), y.numpy(), seed=10 + i, device="cpu", tag=f"job{i}") for i in range(count)]


def results_by_index(executor: Executor, jobs: list[SweepJob]) -> dict:
    seen: dict = {}
    for index, result in executor.map_as_completed(jobs):
        assert index not in seen, f"job {index} was counted twice"
        seen[index] = result
    return seen


def executing(executor: DaskExecutor) -> int:
    """Tasks whose thread still runs on a worker (a released task counts until its job really stops)."""
    counts = executor.client.run(lambda dask_worker: dask_worker.state.executing_count)
    return sum(counts.values())


def test_the_same_sweep_gives_identical_results_on_the_local_pool_and_on_dask(model, images, dask_executor):
    local = InProcessExecutor()
    try:
        expected = results_by_index(local, pgd_jobs(local.register_model(model), images))
        jobs = pgd_jobs(dask_executor.register_model(model), images)
        got = results_by_index(dask_executor, list(reversed(jobs)))  # another order: the same numbers
    finally:
        local.shutdown()
    assert sorted(got) == sorted(expected) == [0, 1, 2, 3]
    for i in expected:
        want = expected[i]
        have = got[len(jobs) - 1 - i]
        assert have.tag == want.tag
        assert np.array_equal(have.adversarial, want.adversarial)
        assert np.array_equal(have.success, want.success)
        assert have.norms == want.norms
    # every worker loaded the model by its spec at most once, however many jobs it ran
    loads = dask_executor.client.run(worker_loads)
    assert len(loads) == 2 and all(n <= 1 for n in loads.values())


def test_the_analyses_give_the_same_curve_and_norms_on_dask(model, images, dask_executor):
    x, y = images
    config = AttackConfig(attack="pgd", norm="linf", steps=6, seed=4)
    eps = [0.0, 2 / 255, 4 / 255, 8 / 255]
    local_curve = robust_accuracy_curve(model, x, y, config, eps)
    dask_curve = robust_accuracy_curve(model, x, y, config, eps, executor=dask_executor)
    assert dask_curve.accuracy == local_curve.accuracy and dask_curve.eps == local_curve.eps
    fmn = AttackConfig(attack="fmn", norm="l2", steps=10, seed=2)
    local_norms = minimal_perturbations(model, x, y, fmn, batch=2)
    dask_norms = minimal_perturbations(model, x, y, fmn, batch=2, executor=dask_executor)
    assert np.array_equal(np.array(dask_norms.norms), np.array(local_norms.norms), equal_nan=True)
    assert dask_norms.success == local_norms.success


def test_a_model_built_in_code_is_sent_to_the_workers_once_and_gives_the_same_numbers(images, dask_executor):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    built = Model(net, ModelCard("built", [str(i) for i in range(10)]))
    assert built.source is None
    local = InProcessExecutor()
    try:
        expected = results_by_index(local, pgd_jobs(local.register_model(built), images, count=2))
    finally:
        local.shutdown()
    got = results_by_index(dask_executor, pgd_jobs(dask_executor.register_model(built), images, count=2))
    for i, want in expected.items():
        assert np.array_equal(got[i].adversarial, want.adversarial)


def _cancel_mid_sweep(executor: Executor, key: str, images, started: Callable[[], bool]) -> None:
    stop = threading.Event()
    jobs = pgd_jobs(key, images, steps=ENDLESS, count=4)
    outcome: dict = {}

    def sweep() -> None:
        try:
            outcome["results"] = list(executor.map_as_completed(jobs, should_stop=stop.is_set))
        except Cancelled:
            outcome["cancelled"] = True

    thread = threading.Thread(target=sweep)
    thread.start()
    wait_until(started, "a job is running")
    stop.set()
    thread.join(WAIT)
    assert not thread.is_alive(), "the sweep did not end after Cancel"
    assert outcome == {"cancelled": True}


def test_cancel_mid_sweep_stops_the_local_pool(model, images):
    local = InProcessExecutor()
    try:
        _cancel_mid_sweep(local, local.register_model(model), images,
                          lambda: any(h.running() for h in local._worker.live()))
        # map_as_completed waited for the running job: nothing of the sweep is left on the worker
        assert local._worker.live() == []
    finally:
        local.shutdown()


def test_cancel_mid_sweep_stops_dask(model, images, dask_executor):
    _cancel_mid_sweep(dask_executor, dask_executor.register_model(model), images,
                      lambda: executing(dask_executor) > 0)
    # the running jobs stop at their next step (their steps never end otherwise), and nothing is queued
    wait_until(lambda: executing(dask_executor) == 0, "the workers' running jobs stopped")
    assert not any(dask_executor.client.processing().values())
    # the executor takes the next sweep
    again = results_by_index(dask_executor, pgd_jobs(dask_executor.register_model(model), images, count=2))
    assert sorted(again) == [0, 1]


def test_a_worker_killed_mid_sweep_has_its_jobs_retried_and_the_result_is_complete_and_identical(model, images):
    local = InProcessExecutor()
    try:
        expected = results_by_index(local, pgd_jobs(local.register_model(model), images, steps=40, count=6))
    finally:
        local.shutdown()
    executor = DaskExecutor(workers=2, torch_threads=1)
    try:
        jobs = pgd_jobs(executor.register_model(model), images, steps=40, count=6)
        futures = [executor.submit(job) for job in jobs]
        wait_until(lambda: all(executor.client.processing().values())
                   and len(executor.client.processing()) == 2, "both workers run a job")
        pids = executor.client.run(os.getpid)
        victim = next(address for address, keys in executor.client.processing().items() if keys)
        os.kill(pids[victim], signal.SIGTERM)
        wait_until(lambda: all(f.done() for f in futures), "every job ended")
        got = {i: f.result() for i, f in enumerate(futures)}
    finally:
        executor.shutdown()
    assert sorted(got) == sorted(expected)
    for i, want in expected.items():
        assert np.array_equal(got[i].adversarial, want.adversarial)
        assert np.array_equal(got[i].success, want.success)


def test_the_engine_process_runs_an_analysis_on_a_local_cluster_with_the_pools_numbers(model):
    """The GUI's path: the request carries the scheduler as plain data; the (daemonic) engine process starts
    the cluster as subprocesses, keeps it for the next request, and leaves no worker after close."""
    from advlens.engine.analysis.requests import AnalysisRequest
    from advlens.engine.client import EngineClient
    from advlens.engine.protocol import AnalysisJob, EngineSettings, LoadModelJob

    client = EngineClient(EngineSettings(threads=1))
    client.start()
    try:
        client.wait_until(lambda: client.ready, WAIT)
        load = client.submit(LoadModelJob("analysis", "demo", device="cpu"))
        client.wait_until(load.done, WAIT)
        assert load.outcome.kind == "finished", load.outcome.message
        request = AnalysisRequest("sweep", images="demo:6", resolution=16, eps_range="0:8:4/255",
                                  attack=AttackConfig(attack="pgd", norm="linf", steps=5, seed=3))
        results = []
        for scheduler in ("", "local:2"):
            job = client.submit(AnalysisJob(request=replace(request, scheduler=scheduler), model="analysis"))
            client.wait_until(job.done, WAIT)
            assert job.outcome.kind == "finished", job.outcome.message
            results.append(job.outcome.result)
        assert results[1].accuracy == results[0].accuracy and results[1].eps == results[0].eps
        # Cancel mid-sweep: once the curve's first point (eps 0) is in, every job is on the cluster; jobs that
        # never end on their own must stop, or the next request would queue behind them on both workers
        endless = replace(request, scheduler="local:2", eps_range="0:12:4/255",
                          attack=AttackConfig(attack="pgd", norm="linf", steps=ENDLESS, seed=3))
        job = client.submit(AnalysisJob(request=endless, model="analysis"))
        client.wait_until(lambda: job.partial is not None or job.done(), WAIT)
        job.cancel()
        client.wait_until(job.done, WAIT)
        assert job.outcome.kind == "cancelled", job.outcome.message
        again = client.submit(AnalysisJob(request=replace(request, scheduler="local:2"), model="analysis"))
        client.wait_until(again.done, WAIT)
        assert again.outcome.kind == "finished" and again.outcome.result.accuracy == results[0].accuracy
    finally:
        client.close()


def test_the_sweep_command_takes_a_scheduler_and_prints_the_pools_curve():
    import json
    import subprocess
    import sys

    def sweep(*extra: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "advlens", "sweep", "--images", "demo:6", "--resolution", "16",
                               "--eps", "0:8:4/255", "--steps", "4", "--device", "cpu", "--json", *extra],
                              capture_output=True, text=True, timeout=WAIT,
                              env=os.environ | {"OMP_NUM_THREADS": "1"})
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    local = sweep()
    on_dask = sweep("--scheduler", "local:2")
    assert on_dask["accuracy"] == local["accuracy"]


def test_the_stability_lab_gives_the_same_rows_on_dask_as_on_the_local_pool(dask_executor):
    from advlens.engine.labs.stability import StabilityConfig, run_stability_lab

    config = StabilityConfig(stripes=(2, 4), dims=(2,), train_points=60, test_points=40, seeds=1, train_steps=20,
                             batch=32, attack_points=6, pgd_steps=3, searches=3, log_every=10, threads=1)

    def numbers(result) -> list:
        return [[(net.kind, net.test_accuracy, net.median_l2, net.median_linf, net.rho)
                 for net in (*row.fixed_runs, row.zigzag, row.nearest, row.wide)] for row in result.rows]

    local = run_stability_lab(config)
    on_dask = run_stability_lab(config, executor=dask_executor)
    assert [(r.stripes, r.dim) for r in on_dask.rows] == [(2, 2), (4, 2)]
    assert numbers(on_dask) == numbers(local)
