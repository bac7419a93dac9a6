"""Telemetry between the attack loop and its readers: what a reader gets belongs together, the numbers
are the criterion's, frames land on their steps, and nothing grows with the number of steps.

The interleavings that made frames and curves disagree are forced here, not waited for by chance.
"""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import pytest
import torch

from advlens.engine.attacks.base import Step
from advlens.engine.criteria import make_criterion
from advlens.engine.metrics import FRAME_METRICS, METRIC_NAMES, STEP_METRICS
from advlens.engine.telemetry import Telemetry, step_metrics, summarize

LABELS = torch.tensor([2, 0])


def _step(index: int, classes: int = 6) -> Step:
    g = torch.Generator().manual_seed(index)
    x = torch.rand(2, 3, 4, 4, generator=g)
    x_adv = (x + 0.01 * index * torch.rand(2, 3, 4, 4, generator=g)).clamp(0, 1)
    logits = torch.randn(2, classes, generator=g) * 3
    return Step(index=index, stage="pgd", x=x, x_adv=x_adv, logits=logits, success=logits.argmax(1) != LABELS)


def _telemetry(**kwargs) -> Telemetry:
    telemetry = Telemetry(batch=2, **kwargs)
    telemetry.begin(make_criterion(LABELS, None))
    return telemetry


def _push(telemetry: Telemetry, step: Step, frame: bool = True) -> None:
    telemetry.push(step.index, step.logits)
    if frame:
        telemetry.offer_frame(step.frame())


def test_the_newest_frame_a_drain_names_is_one_its_series_hold():
    telemetry = _telemetry()
    for i in range(3):
        _push(telemetry, _step(i))
    store = telemetry._store

    def store_while_the_attack_pushes(pending, frames):  # the attack loop pushes step 3 just after the hand-over
        _push(telemetry, _step(3))
        return store(pending, frames)

    telemetry._store = store_while_the_attack_pushes
    version, frame = telemetry.drain_latest()
    assert (version, frame.index) == (3, 2)  # not step 3, which no series holds yet
    assert telemetry.steps()[-1] == 2
    telemetry._store = store
    assert telemetry.drain_latest()[1].index == 3 and telemetry.steps()[-1] == 3


class _DrainInEveryGap:
    """Stands in for the telemetry's drain lock: each time a reader lets go of it, another thread drains
    (as the attack thread does at a flush or the end of a run) before the reader can take it again."""

    def __init__(self, telemetry: Telemetry):
        self.telemetry = telemetry
        self.lock = threading.RLock()
        self.depth = 0
        self.armed = True

    def __enter__(self) -> None:
        self.lock.acquire()
        self.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
        self.lock.release()
        if self.depth == 0 and self.armed:
            self.armed = False
            other = threading.Thread(target=self.telemetry.drain)
            other.start()
            other.join()


def test_a_snapshot_is_one_drain_even_when_another_thread_drains_meanwhile():
    telemetry = _telemetry()
    _push(telemetry, _step(0))
    telemetry.drain()
    _push(telemetry, _step(1))  # pending: the worker's own drain at the end of a run picks it up
    telemetry._drain_lock = _DrainInEveryGap(telemetry)
    steps, series = telemetry.snapshot(("loss", "l2"))
    assert len(steps) == len(series["loss"]) == len(series["l2"]) == 1  # all read before that drain
    assert telemetry.steps_seen == 2  # the other thread did drain, once the snapshot was taken


@pytest.mark.parametrize("target", [None, 4])
def test_the_metrics_are_the_criterions_own_numbers_for_every_step(target):
    criterion = make_criterion(LABELS, target)
    telemetry = Telemetry(batch=2, flush_steps=4)
    telemetry.begin(criterion)
    steps = [_step(i) for i in range(10)]
    for step in steps:
        telemetry.push(step.index, step.logits)
    metrics = telemetry.metrics()
    assert set(metrics) == set(METRIC_NAMES) and metrics["loss"].shape == (10, 2)
    for i, step in enumerate(steps):
        probs = step.logits.softmax(dim=1)
        expected = {"loss": criterion.loss(step.logits), "margin": criterion.margin(step.logits),
                    "true_prob": probs[torch.arange(2), LABELS],
                    "target_prob": probs[:, target] if target is not None else torch.full((2,), float("nan")),
                    "success": criterion.is_adversarial(step.logits).double()}
        for name in STEP_METRICS:
            np.testing.assert_allclose(metrics[name][i], expected[name].double().numpy(), rtol=1e-6, equal_nan=True)
        assert np.isnan(metrics["l2"][i]).all()  # no frame was offered


def test_frame_norms_land_on_their_steps_and_the_others_stay_nan():
    telemetry = _telemetry(flush_steps=3)
    steps = [_step(i) for i in range(8)]
    framed = {0, 4, 7}
    for step in steps:
        _push(telemetry, step, frame=step.index in framed)
    metrics = telemetry.metrics()
    for step in steps:
        delta = (step.x_adv - step.x).reshape(2, -1)
        for name in FRAME_METRICS:
            row = metrics[name][step.index]
            if step.index in framed:
                expected = {"l0": (delta.abs() > 1e-6).sum(1).double(), "l1": delta.abs().sum(1).double(),
                            "l2": delta.norm(dim=1).double(),
                            "linf": delta.abs().amax(1).double()}[name]
                np.testing.assert_allclose(row, expected.numpy(), rtol=1e-6)
            else:
                assert np.isnan(row).all()


def test_a_frame_offered_after_its_step_was_stored_still_lands_on_it():
    telemetry = _telemetry(flush_steps=2)
    steps = [_step(i) for i in range(4)]
    for step in steps:
        _push(telemetry, step, frame=False)
    telemetry.drain()  # a reader (the GUI's timer) drained: every step is on the host already
    assert telemetry.steps_seen == 4
    telemetry.offer_frame(steps[-1].frame())  # execute frames the last step when the run ends
    assert np.isfinite(telemetry.metrics()["l2"][3]).all()


def test_frames_come_at_the_writers_rate():
    every_step = _telemetry(frame_interval_s=0)
    assert every_step.frame_due()
    _push(every_step, _step(0))
    assert every_step.frame_due()
    rarely = _telemetry(frame_interval_s=3600)
    assert rarely.frame_due()  # the first step always has a frame
    _push(rarely, _step(0))
    assert not rarely.frame_due()


def test_only_the_newest_frame_and_at_most_a_flush_of_logits_are_held():
    telemetry = _telemetry(flush_steps=5)
    refs = []
    for i in range(23):
        step = _step(i)
        frame = step.frame()
        refs.append(weakref.ref(frame))
        telemetry.push(i, step.logits)
        telemetry.offer_frame(frame)
        del frame, step
        assert len(telemetry._pending) <= 5
    gc.collect()
    assert [r() is not None for r in refs].count(True) == 1  # the mailbox holds the newest frame, no other
    version, newest = telemetry.latest()
    assert version == 23 and newest is refs[-1]()


def test_summarize_reads_the_shown_image():
    step = _step(2)
    frame = step.frame(image=1)
    summary = summarize(frame)
    probs = step.logits[1].softmax(0)
    assert summary.index == 2 and summary.topk_index[0] == int(probs.argmax())
    assert summary.metrics["success"] == float(step.success[1])
    assert summary.metrics["l2"] == pytest.approx(float((step.x_adv[1] - step.x[1]).norm()), rel=1e-6)
    assert frame.x_adv.shape == (3, 4, 4) and torch.equal(frame.x_adv, step.x_adv[1])


def test_step_metrics_keeps_steps_and_images_apart():
    logits = torch.randn(3, 2, 5)
    values = step_metrics(logits, make_criterion(LABELS, None))
    assert values.shape == (3, len(STEP_METRICS), 2) and values.dtype == np.float64
    loss = STEP_METRICS.index("loss")
    for s in range(3):
        np.testing.assert_allclose(values[s, loss], make_criterion(LABELS, None).loss(logits[s]).double().numpy(),
                                   rtol=1e-6)


def test_a_frame_that_took_long_to_compute_spaces_out_the_next(monkeypatch):
    clock = iter([0.5, 0.5 + 0.004, 0.5 + 0.3, 0.5 + 0.41])  # due, offered 4 ms later, asked twice more
    monkeypatch.setattr("advlens.engine.telemetry.time.perf_counter", lambda: next(clock))
    telemetry = _telemetry(frame_interval_s=0.01, frame_budget=0.01)
    telemetry._last_frame_at = 0.0
    assert telemetry.frame_due()  # 0.5 s after the last frame
    _push(telemetry, _step(0))  # offer_frame reads the clock: the frame took 4 ms
    assert not telemetry.frame_due()  # 0.3 s later: 4 ms is more than 1% of that
    assert telemetry.frame_due()  # 0.41 s later: frames stay within 1% of the loop's time


def test_a_framed_step_is_stored_with_its_norms_even_when_its_push_flushed():
    """Rows are final when a drain stores them (the engine process publishes them then, append-only): the
    step whose push flushed the buffer is still pending when its frame comes, so its norms are in its row."""
    stored: list[np.ndarray] = []

    class Recording(Telemetry):
        def drain(self) -> int:
            count = super().drain()
            if count:
                stored.append(self.buffers["l2"].array()[-count:].copy())
            return count

    telemetry = Recording(batch=2, frame_interval_s=0, flush_steps=4)
    telemetry.begin(make_criterion(LABELS, None))
    for i in range(10):
        _push(telemetry, _step(i))  # a frame every step
    telemetry.end()
    rows = np.concatenate(stored)
    assert len(rows) == 10 and np.isfinite(rows).all()
