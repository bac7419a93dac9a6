"""The engine in its own process, driven through the Qt-free client: a run streams and stops within a step
across the boundary, a crashing or hanging model takes down only the child (reported, restarted),
a new job supersedes the old one, and closing leaves no process behind.

Every wait is a poll with a timeout (`EngineClient.wait_until`), never a sleep."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

from advlens.engine.client import EngineClient, EngineLost, EngineReady
from advlens.engine.config import AttackConfig, RunConfig
from advlens.engine.protocol import (
    AttackRunJob,
    EngineSettings,
    ImageSource,
    LoadModelJob,
    PredictJob,
    SleepJob,
)
from tests.engine.engine_models import ABORT_SIZE, HANG_SIZE, AbortNet, HangNet, HoldNet, save_trusted

WAIT = 180.0  # seconds: a bound for a stuck test (a cold engine imports torch first), never a synchronisation
SETTINGS = EngineSettings(threads=1)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _run(model: str = "explorer", steps: int = 100_000, resolution: int = 24, **attack) -> AttackRunJob:
    config = RunConfig(image="sample:star", resolution=resolution, attack=AttackConfig(steps=steps, **attack))
    return AttackRunJob(model=model, config=config.to_dict(), image=ImageSource("sample:star"))


def _ended(client: EngineClient, job, timeout: float = WAIT):
    client.wait_until(job.done, timeout)
    return job.outcome


@pytest.fixture(scope="module")
def engine():
    client = EngineClient(SETTINGS)
    client.start()
    client.wait_until(lambda: client.ready, WAIT)
    load = client.submit(LoadModelJob("explorer", "demo", device="cpu"))
    assert _ended(client, load).kind == "finished", load.outcome.message
    yield client
    client.close()


def _trusted(tmp_path, wrapper, demo_model, **kw):
    network = wrapper(demo_model.network, **kw)
    return save_trusted(network, tmp_path / f"{wrapper.__name__.lower()}.pt", demo_model.labels,
                        demo_model.card.mean, demo_model.card.std)


def test_the_engine_says_what_it_offers_and_leaves_a_core_to_the_gui(engine):
    info = engine.info
    assert info.pid == engine.pid != os.getpid()
    assert info.threads == 1  # as set; unset it is every core but one, at least one
    assert info.allocator.startswith("glibc mmap and trim thresholds")  # set before torch allocated (Linux)
    assert "shapes-cnn" in [name for name, _ in info.bundled_models] and ".safetensors" in info.model_suffixes
    from advlens.engine.engine_process import engine_threads

    assert engine_threads(EngineSettings()) == max(1, (os.cpu_count() or 1) - 1)


def test_a_prediction_comes_back_as_plain_data(engine):
    job = engine.submit(PredictJob("explorer", ImageSource("sample:star"), 32))
    outcome = _ended(engine, job)
    assert outcome.kind == "finished", outcome.message
    prediction = outcome.result
    assert prediction.image.shape == (32, 32, 3) and prediction.image.dtype == np.float32
    assert prediction.known_label == prediction.pred  # the demo model knows its star
    assert 0.5 < prediction.conf <= 1.0 and prediction.topk_index[0] == prediction.pred


def test_a_run_streams_through_shared_memory_and_stops_within_a_step(engine, demo_model, tmp_path):
    held = _trusted(tmp_path, HoldNet, demo_model, folder=str(tmp_path))
    assert _ended(engine, engine.submit(LoadModelJob("held", str(held), device="cpu", trust=True))).kind == "finished"
    run = engine.submit(_run("held"))
    engine.wait_until(lambda: run.telemetry is not None, WAIT)
    reader = run.telemetry
    engine.wait_until(lambda: reader.update() >= 0 and reader.steps_seen >= 3 and reader.frame() is not None, WAIT)
    frame = reader.last_frame
    assert frame.image.shape == (24, 24, 3) and len(frame.topk_index) == 5
    assert run.info.original.shape == (24, 24, 3) and run.info.total_steps == 100_000
    series = reader.series(["loss", "l2"])
    assert list(series.steps) == list(range(len(series.steps)))  # every step, in order
    # Stop while the engine is inside a step: counting steps and then stopping would let steps slip in
    (tmp_path / "arm").write_text("1")
    engine.wait_until(lambda: (tmp_path / "holding").exists(), WAIT)
    pushed_at_stop = reader.shared.steps_pushed
    run.cancel()
    engine.wait_until(lambda: "cancel" in run.acknowledged, WAIT)  # the engine has the Stop
    (tmp_path / "release").write_text("1")
    outcome = _ended(engine, run)
    assert outcome.kind == "cancelled" and outcome.record.status == "cancelled"
    assert outcome.record.metrics["loss"].shape[0] == pushed_at_stop + 1  # the step under way, and no other
    reader.update()
    assert reader.steps_seen == pushed_at_stop + 1 and reader.finished  # the last rows were published
    run.release()


def test_a_paused_run_takes_exactly_the_steps_asked_for(engine):
    run = engine.submit(_run(steps=50), paused=True)
    engine.wait_until(lambda: run.telemetry is not None, WAIT)
    run.step(3)
    engine.wait_until(lambda: run.telemetry.shared.steps_pushed == 3, WAIT)
    run.cancel()
    outcome = _ended(engine, run)
    assert outcome.kind == "cancelled" and outcome.record.metrics["loss"].shape[0] == 3  # nothing ran while paused


def test_a_new_job_on_a_lane_supersedes_the_old_one(engine):
    first = engine.submit(_run())
    engine.wait_until(lambda: first.telemetry is not None and first.telemetry.shared.steps_pushed >= 1, WAIT)
    second = engine.submit(_run(steps=3))
    assert _ended(engine, first).kind == "cancelled"
    outcome = _ended(engine, second)
    assert outcome.kind == "finished" and outcome.record.metrics["loss"].shape[0] == 4
    other_lane = engine.submit(SleepJob(600), lane="analysis")
    third = engine.submit(_run(steps=2))
    assert _ended(engine, third).kind == "finished"  # another lane's job does not hold the Explorer up
    other_lane.cancel()
    assert _ended(engine, other_lane).kind == "cancelled"


def test_a_model_error_is_one_line_and_the_engine_goes_on(engine):
    job = engine.submit(LoadModelJob("other", "/no/such/model.safetensors"))
    outcome = _ended(engine, job)
    assert outcome.kind == "failed" and "\n" not in outcome.message and job.error.type == "ModelLoadError"
    assert _ended(engine, engine.submit(PredictJob("explorer", ImageSource("sample:ring"), 16))).kind == "finished"


@pytest.fixture
def own_engine():
    client = EngineClient(SETTINGS, cancel_grace_s=0.75, hang_s=3.0)
    client.start()
    client.wait_until(lambda: client.ready, WAIT)
    yield client
    client.close()


def _load_trusted(client, path):
    outcome = _ended(client, client.submit(LoadModelJob("explorer", str(path), device="cpu", trust=True)))
    assert outcome.kind == "finished", outcome.message


def test_a_model_that_aborts_is_reported_in_one_line_and_the_engine_restarts(own_engine, demo_model, tmp_path):
    client = own_engine
    _load_trusted(client, _trusted(tmp_path, AbortNet, demo_model))
    first_pid = client.pid
    run = client.submit(_run(resolution=ABORT_SIZE))
    events = client.wait_until(lambda: run.done(), WAIT)
    assert run.outcome.kind == "failed"
    assert "aborted" in run.outcome.message and "\n" not in run.outcome.message
    lost = [e for e in events if isinstance(e, EngineLost)]
    assert len(lost) == 1 and lost[0].restarting and "aborted" in lost[0].message
    events = client.wait_until(lambda: client.ready, WAIT)
    assert any(isinstance(e, EngineReady) and e.restarted for e in events)
    assert client.pid != first_pid and _gone(first_pid)
    # the new engine works (the model must be loaded again: the crash took it)
    assert _ended(client, client.submit(LoadModelJob("explorer", "demo", device="cpu"))).kind == "finished"
    assert _ended(client, client.submit(_run(steps=2))).kind == "finished"


def test_a_torchscript_model_that_raises_in_cpp_fails_the_run_not_the_engine(own_engine, demo_model, tmp_path):
    class Raising(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-1] == 17:
                raise RuntimeError("the scripted model refuses 17 px")
            return self.inner(x)

    path = tmp_path / "raising.pt"
    torch.jit.save(torch.jit.script(Raising(demo_model.network)), str(path))
    card = {"name": "raising", "labels": list(demo_model.labels), "mean": demo_model.card.mean,
            "std": demo_model.card.std}
    path.with_suffix(".json").write_text(json.dumps(card))
    client = own_engine
    pid = client.pid
    _load_trusted(client, path)
    run = client.submit(_run(resolution=17))
    outcome = _ended(client, run)
    assert outcome.kind == "failed" and "refuses 17 px" in outcome.message and "\n" not in outcome.message
    assert client.pid == pid and client.ready


def test_stop_on_a_forward_that_never_returns_ends_the_engine_after_a_grace_period(own_engine, demo_model,
                                                                                    tmp_path):
    client = own_engine
    _load_trusted(client, _trusted(tmp_path, HangNet, demo_model, folder=str(tmp_path)))
    first_pid = client.pid
    run = client.submit(_run(resolution=HANG_SIZE))
    client.wait_until(lambda: (tmp_path / "hanging").exists(), WAIT)  # inside the forward pass that never returns
    run.cancel()
    events = client.wait_until(run.done, WAIT)
    assert run.outcome.kind == "cancelled" and "did not stop" in run.outcome.message
    assert any(isinstance(e, EngineLost) and e.restarting for e in events)
    client.wait_until(lambda: client.ready, WAIT)
    assert client.pid != first_pid and _gone(first_pid)


def test_an_engine_that_stops_answering_is_ended_and_restarted(own_engine):
    client = own_engine
    pid = client.pid
    os.kill(pid, signal.SIGSTOP)  # frozen: not even a heartbeat
    events = client.wait_until(lambda: client.pid != pid, WAIT)
    assert any(isinstance(e, EngineLost) and "stopped answering" in e.message for e in events)
    client.wait_until(lambda: client.ready, WAIT)
    assert _gone(pid)


def test_closing_ends_the_child_and_leaves_no_process_or_shared_memory(demo_model):
    client = EngineClient(SETTINGS)
    client.start()
    client.wait_until(lambda: client.ready, WAIT)
    assert _ended(client, client.submit(LoadModelJob("explorer", "demo", device="cpu"))).kind == "finished"
    run = client.submit(_run())
    client.wait_until(lambda: run.telemetry is not None, WAIT)
    name, pid = run.layout.name, client.pid
    client.close()
    assert _gone(pid) and not client.alive
    from multiprocessing import shared_memory

    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)
    assert run.done()


def test_the_gui_side_of_the_engine_imports_without_torch():
    """What the GUI process uses (client, protocol, shared memory, records, images, samples) loads no torch;
    torch arrives only in the engine process (modules that import it inside functions are fine here)."""
    import subprocess
    import sys

    code = ("import sys\n"
            "for name in ('client', 'protocol', 'shared_telemetry', 'jobs', 'engine_process', 'images', 'samples',"
            " 'record', 'runs'):\n"
            "    __import__('advlens.engine.' + name)\n"
            "from advlens.engine.samples import sample_array\n"
            "assert sample_array('star', 16).shape == (16, 16, 3)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_moving_the_model_to_another_device_leaves_a_running_job_its_copy(monkeypatch, demo_model):
    """A lab or analysis may be attacking the current model on another lane: the move makes a copy."""
    import copy

    import advlens.engine.engine_server as server_module
    from advlens.engine.engine_server import EngineServer
    from advlens.engine.protocol import MoveModelJob, StartJob

    events = []
    server = EngineServer(events.append)
    try:
        held = server.models["explorer"] = copy.deepcopy(demo_model)  # what a running job would hold
        monkeypatch.setattr(server_module, "select_device", lambda name: torch.device(name))
        info = server.start(StartJob(1, "models", MoveModelJob("explorer", "meta"))).result(timeout=WAIT)
        assert server.models["explorer"] is not held and server.models["explorer"].device.type == "meta"
        assert info.device == "meta"
        assert held.device.type == "cpu" and held(torch.rand(1, 3, 32, 32)).shape == (1, 10)  # still usable
    finally:
        server.shutdown()


def test_an_event_holding_a_tensor_is_refused_before_it_reaches_the_gui_process():
    import pickle

    from advlens.engine.engine_process import dumps

    assert pickle.loads(dumps({"plain": np.arange(3)}))["plain"].tolist() == [0, 1, 2]
    with pytest.raises(pickle.PicklingError, match="cannot be sent to the window"):
        dumps({"tensor": torch.zeros(2)})


def test_a_transfer_table_uses_a_model_loaded_with_trust_by_its_key(engine, demo_model, tmp_path):
    """A file the person trusted (the Analysis tab's 'Add a model file…') is in the table by its loaded key;
    by its spec alone the engine would refuse it again, as it refuses any pickle it was not told to trust."""
    from advlens.engine.analysis.requests import AnalysisRequest
    from advlens.engine.protocol import AnalysisJob

    path = str(save_trusted(demo_model.network, tmp_path / "copy.pt", demo_model.labels, demo_model.card.mean,
                            demo_model.card.std))
    assert _ended(engine, engine.submit(LoadModelJob("transfer/1", path, device="cpu", trust=True))).kind == "finished"
    request = AnalysisRequest("transfer", model="demo", images="demo:3", resolution=16, other_models=[path],
                              attack=AttackConfig(attack="fgsm", norm="linf", eps=8 / 255, steps=1))
    by_key = _ended(engine, engine.submit(AnalysisJob(request, "explorer", {path: path}, {path: "transfer/1"})))
    assert by_key.kind == "finished", by_key.message
    assert list(by_key.result.models) == ["shapes-cnn", "copy.pt"]
    by_spec = _ended(engine, engine.submit(AnalysisJob(request, "explorer", {path: path})))
    assert by_spec.kind == "failed" and "copy.pt" in by_spec.message
