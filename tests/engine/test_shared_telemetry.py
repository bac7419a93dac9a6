"""Shared-memory telemetry in one process: rows in order across the ring's wrap, whole frames only,
frames offered only when the reader took the last one, and the segment gone after close."""

from __future__ import annotations

from multiprocessing import shared_memory

import numpy as np
import pytest

from advlens.engine.metrics import METRIC_NAMES
from advlens.engine.shared_telemetry import SharedTelemetry, TelemetryReader, unlink_segment


def _rows(start: int, n: int, batch: int = 1) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    steps = np.arange(start, start + n, dtype=np.float64)
    return steps, {name: np.tile((steps + k)[:, None], (1, batch)) for k, name in enumerate(METRIC_NAMES)}


@pytest.fixture
def writer():
    shared = SharedTelemetry.create(batch=2, image_shape=(4, 5, 3), capacity=64)
    yield shared
    shared.close()


def test_rows_arrive_in_order_and_the_reader_keeps_them_past_the_ring(writer):
    reader = TelemetryReader(writer.layout)
    try:
        for start in range(0, 200, 20):  # ten blocks of 20: three times round a 64-row ring
            writer.write_rows(*_rows(start, 20, batch=2))
            assert reader.update() == 20
        data = reader.series()
        np.testing.assert_array_equal(data.steps, np.arange(200))
        np.testing.assert_array_equal(data.series["margin"], np.arange(200) + METRIC_NAMES.index("margin"))
        assert reader.steps_seen == 200 and reader.dropped == 0
    finally:
        reader.close()


def test_a_reader_that_fell_behind_a_whole_ring_says_how_many_rows_it_lost(writer):
    reader = TelemetryReader(writer.layout)
    try:
        writer.write_rows(*_rows(0, 300, batch=2))
        reader.update()
        data = reader.series(["loss"])
        assert reader.dropped == 300 - len(data.steps) and reader.dropped > 236
        np.testing.assert_array_equal(data.steps, np.arange(300 - len(data.steps), 300))  # the newest, in order
    finally:
        reader.close()


def test_frames_are_whole_newest_only_and_offered_when_the_reader_took_the_last(writer):
    reader = TelemetryReader(writer.layout)
    try:
        assert reader.frame() is None and writer.frame_wanted()
        image = np.full((4, 5, 3), 0.25, np.float32)
        metrics = {name: float(i) for i, name in enumerate(METRIC_NAMES)}
        writer.write_frame(3, "restart 1/2", image, metrics, [0.7, 0.2], [4, 1], 0.5)
        assert not writer.frame_wanted()  # the reader has not taken it: the engine skips the copy
        writer.write_frame(4, "restart 2/2", image * 2, metrics, [0.6, 0.3], [4, 2], 0.6)
        frame = reader.frame()
        assert frame.step == 4 and frame.stage == "restart 2/2"  # only the newest is kept
        np.testing.assert_array_equal(frame.image, image * 2)
        assert list(frame.topk_index) == [4, 2] and frame.topk_prob == pytest.approx([0.6, 0.3])
        assert frame.metrics["l2"] == METRIC_NAMES.index("l2")
        assert writer.frame_wanted() and reader.frame() is None  # taken once
    finally:
        reader.close()


def test_a_frame_caught_mid_write_is_never_returned(writer):
    reader = TelemetryReader(writer.layout)
    try:
        writer.write_frame(1, "", np.zeros((4, 5, 3), np.float32), {}, [1.0], [0], 0.0)
        writer.header[2] += 1  # the sequence number odd: a write under way
        assert reader.frame() is None
        writer.header[2] += 1
        assert reader.frame() is not None
    finally:
        reader.close()


def test_the_writer_removes_its_segment_and_a_crashed_writers_can_be_removed_by_name():
    shared = SharedTelemetry.create(batch=1, image_shape=(2, 2, 1))
    name = shared.layout.name
    shared.close()
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)
    orphan = SharedTelemetry.create(batch=1, image_shape=(2, 2, 1))
    orphan.owner = False  # as if its writer died: only a reader's close
    orphan.close()
    assert unlink_segment(orphan.layout.name)
    assert not unlink_segment(orphan.layout.name)


def test_a_run_publishes_every_step_the_record_holds_and_its_last_frame(demo_model):
    """The engine's writer over shared memory: every drain publishes its rows (more steps than one flush
    holds), the norms are in the rows of the steps that had a frame, and the mailbox ends on the last step."""
    from advlens.engine import AttackConfig, RunConfig, execute, prepare_job
    from advlens.engine.engine_server import SharedRunTelemetry

    job = prepare_job(RunConfig(image="sample:star", resolution=32, attack=AttackConfig(steps=70)), model=demo_model)
    shared = SharedTelemetry.create(batch=1, image_shape=(32, 32, 3))
    reader = TelemetryReader(shared.layout)
    try:
        telemetry = SharedRunTelemetry(shared, batch=1)
        try:
            record = execute(job, telemetry)
        finally:
            telemetry.finish()
        assert shared.finished and reader.update() == 71
        data = reader.series()
        np.testing.assert_array_equal(data.steps, np.arange(71))
        for name in METRIC_NAMES:  # the GUI's series are the record's, NaN norms included
            np.testing.assert_array_equal(data.series[name], record.metrics[name][:, 0], err_msg=name)
        framed = np.isfinite(data.series["l2"])
        assert framed[0] and framed[-1]  # nobody read the first frame, so no other was due
        frame = reader.frame()
        assert frame.step == 70 and frame.metrics["l2"] == pytest.approx(record.norms["l2"][0], rel=1e-5)
        assert frame.metrics["margin"] == record.metrics["margin"][-1, 0]
        np.testing.assert_array_equal(frame.image, record.adversarial[0].transpose(1, 2, 0))
    finally:
        reader.close()
        shared.close()
