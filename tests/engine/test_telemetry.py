"""Telemetry read by the GUI while the attack thread writes it: what a reader gets belongs together.

The interleavings that made frames and curves disagree are forced here, not waited for by chance.
"""

from __future__ import annotations

import threading

import torch

from advlens.engine.attacks.base import Step
from advlens.engine.telemetry import Telemetry


def _step(index: int) -> Step:
    value = torch.full((1,), float(index))
    return Step(index=index, stage="pgd", x_adv=torch.zeros(1, 3, 2, 2), loss=value, margin=value, true_prob=value,
                target_prob=value, topk_prob=torch.zeros(1, 5), topk_index=torch.zeros(1, 5, dtype=torch.long),
                l0=value, l1=value, l2=value, linf=value, success=torch.zeros(1, dtype=torch.bool))


def test_the_newest_step_a_drain_names_is_one_its_series_hold():
    telemetry = Telemetry()
    for i in range(3):
        telemetry.push(_step(i))
    store = telemetry._store

    def store_while_the_attack_pushes(pending):  # the attack thread pushes step 3 just after the hand-over
        telemetry.push(_step(3))
        return store(pending)

    telemetry._store = store_while_the_attack_pushes
    version, step = telemetry.drain_latest()
    assert (version, step.index) == (3, 2)  # not step 3, which no series holds yet
    assert telemetry.steps()[-1] == 2
    telemetry._store = store
    assert telemetry.drain_latest()[1].index == 3 and telemetry.steps()[-1] == 3


class _DrainInEveryGap:
    """Stands in for the telemetry's drain lock: each time a reader lets go of it, another thread drains
    (as the attack thread does at the end of a run) before the reader can take it again."""

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
    telemetry = Telemetry()
    telemetry.push(_step(0))
    telemetry.drain()
    telemetry.push(_step(1))  # pending: the worker's own drain at the end of a run picks it up
    telemetry._drain_lock = _DrainInEveryGap(telemetry)
    steps, series = telemetry.snapshot(("loss", "l2"))
    assert len(steps) == len(series["loss"]) == len(series["l2"]) == 1  # all read before that drain
    assert telemetry.steps_seen == 2  # the other thread did drain, once the snapshot was taken
