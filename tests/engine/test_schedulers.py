"""Where sweeps run: the scheduler strings, the executor they name, models that can travel, and every
analysis submitting its jobs to the executor it is given (with the numbers of the default pool)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advlens.engine import AttackConfig
from advlens.engine.analysis import (
    adversarial_landscape,
    frequency_comparison,
    minimal_perturbations,
    noise_vs_attack,
    robust_accuracy_curve,
    transfer_table,
)
from advlens.engine.errors import ConfigError
from advlens.engine.executor import InProcessExecutor, executor_for
from advlens.engine.loaders import load_model
from advlens.engine.model_source import ModelSource
from advlens.engine.schedulers import ENV_VAR, parse_scheduler, scheduler_from
from tests.conftest import demo_images


def test_scheduler_strings_name_the_pool_a_local_cluster_or_a_running_scheduler():
    assert parse_scheduler("").kind == parse_scheduler("local").kind == parse_scheduler(None).kind == "pool"
    local = parse_scheduler("local:3")
    assert (local.kind, local.workers, local.uses_dask) == ("local-cluster", 3, True)
    remote = parse_scheduler(" tcp://10.0.0.5:8786 ")
    assert (remote.kind, remote.address) == ("remote", "tcp://10.0.0.5:8786")
    assert parse_scheduler("tcp://localhost:8786").describe() == "the Dask scheduler at tcp://localhost:8786"


@pytest.mark.parametrize("text", ["local:0", "local:x", "local:100", "http://host:8786", "tcp://host", "dask",
                                  "tcp://host:99999"])
def test_a_bad_scheduler_string_is_one_config_error_naming_the_accepted_forms(text):
    with pytest.raises(ConfigError) as caught:
        parse_scheduler(text)
    assert "\n" not in str(caught.value)


def test_the_flag_wins_over_the_environment_which_wins_over_the_local_pool():
    env = {ENV_VAR: "local:2"}
    assert scheduler_from("tcp://h:1", env) == "tcp://h:1"
    assert scheduler_from(None, env) == "local:2"
    assert scheduler_from("", {}) == ""


def test_the_local_pool_is_the_default_executor():
    executor = executor_for("")
    try:
        assert isinstance(executor, InProcessExecutor)
    finally:
        executor.shutdown()


def test_a_loaded_model_knows_its_source_so_a_worker_can_load_it_again():
    model = load_model("demo", "cpu")
    assert model.source == ModelSource("demo")
    from advlens.engine.loaders.source import load_source

    again = load_source(model.source, "cpu")
    assert torch.equal(next(again.parameters()), next(model.parameters()))
    assert model.source.cache_key("cpu") != model.source.cache_key("cuda")


class CountingExecutor(InProcessExecutor):
    def __init__(self):
        super().__init__()
        self.methods: list[str] = []

    def submit(self, job):
        self.methods.append(job.method)
        return super().submit(job)


@pytest.fixture(scope="module")
def small():
    return demo_images(6, 16, offset=300)


def _same(a, b) -> bool:
    a, b = (x.to_dict() if hasattr(x, "to_dict") else x for x in (a, b))
    return repr(a) == repr(b)


@pytest.mark.parametrize("analysis", ["sweep", "minimal", "noise", "frequency", "transfer", "landscape"])
def test_every_analysis_sends_its_jobs_to_the_executor_it_is_given(demo_model, small, analysis):
    x, y = small
    pgd = AttackConfig(attack="pgd", norm="linf", eps=4 / 255, steps=4, seed=1)
    fmn = AttackConfig(attack="fmn", norm="l2", steps=8, seed=1)
    runs = {
        "sweep": lambda ex: robust_accuracy_curve(demo_model, x, y, pgd, [0.0, 4 / 255], executor=ex),
        "minimal": lambda ex: minimal_perturbations(demo_model, x, y, fmn, executor=ex),
        "noise": lambda ex: noise_vs_attack(demo_model, x, y, pgd, trials=3, executor=ex),
        "frequency": lambda ex: frequency_comparison(demo_model, x, y, pgd, executor=ex),
        "transfer": lambda ex: transfer_table({"a": demo_model, "b": demo_model}, x, y, pgd, executor=ex),
        "landscape": lambda ex: adversarial_landscape(demo_model, x[0], int(y[0]), fmn, grid=9, executor=ex),
    }
    # Bit-for-bit equality needs one torch thread: with two, some CPUs' kernels reduce in a varying order
    # (FMN's radius moved by 1e-7 between identical calls on one of this project's machines), and the
    # first backward pass at a new input shape can differ from later ones in the last bit, so a warm-up
    # run puts both compared runs after it.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _compare_with_and_without_executor(runs[analysis], analysis)
    finally:
        torch.set_num_threads(threads)


def _compare_with_and_without_executor(run, analysis: str) -> None:
    run(None)
    executor = CountingExecutor()
    try:
        given = run(executor)
    finally:
        executor.shutdown()
    assert executor.methods, "no job went to the executor"
    assert _same(given, run(None))
    if analysis == "landscape":
        assert executor.methods.count("landscape") == 2 and np.isfinite(given.loss).all()


def test_without_dask_a_cluster_scheduler_says_which_extra_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "distributed", None)  # as in an install without advlens[cluster]
    monkeypatch.setitem(sys.modules, "advlens.engine.cluster", None)
    with pytest.raises(ConfigError, match=r"pip install 'advlens\[cluster\]'"):
        executor_for("local:2")
