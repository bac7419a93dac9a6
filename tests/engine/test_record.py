import json

import numpy as np
import pytest

from advlens.engine import AttackConfig, RunConfig, RunRecord, run_attack
from advlens.engine.record import RecordError


@pytest.fixture(scope="module")
def record(demo_model):
    return run_attack(RunConfig(image="sample:triangle", resolution=32, attack=AttackConfig(steps=6, seed=3)),
                      model=demo_model)


def test_saved_and_loaded_record_equals_the_original(record, tmp_path):
    folder = record.save(tmp_path / "run")
    loaded = RunRecord.load(folder)
    assert loaded.same_as(record)
    assert loaded.config == record.config
    assert loaded.metrics["loss"].shape == (7, 1)
    for name in ("record.json", "arrays.npz", "metrics.csv", "original.png", "adversarial.png", "perturbation.png"):
        assert (folder / name).stat().st_size > 0


def test_record_json_names_config_seed_versions_and_device(record, tmp_path):
    data = json.loads((record.save(tmp_path / "r") / "record.json").read_text())
    assert data["config"]["attack"]["seed"] == 3
    assert {"advlens", "torch", "numpy"} <= set(data["versions"])
    assert data["device"].startswith("CPU")


def test_saving_over_an_existing_record_replaces_it_whole(record, tmp_path):
    target = record.save(tmp_path / "run")  # an old record (a folder that is not one is refused: test_record_safety)
    (target / "stale.txt").write_text("old")
    record.save(target)
    assert not (target / "stale.txt").exists()
    assert RunRecord.load(target).same_as(record)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temp folders left behind


def test_a_failed_save_leaves_the_old_record_intact(record, tmp_path, monkeypatch):
    target = record.save(tmp_path / "run")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError):
        record.save(target)
    assert RunRecord.load(target).same_as(record)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_loading_a_folder_that_is_not_a_record_says_so(tmp_path):
    with pytest.raises(RecordError, match="not a readable run record"):
        RunRecord.load(tmp_path)


def test_metrics_csv_has_a_row_per_step_and_image(record):
    lines = record.metrics_csv().strip().splitlines()
    assert lines[0].startswith("step,image,loss,margin") and ",l0,l1,l2,linf," in lines[0]
    assert len(lines) == 1 + 7


def test_a_record_keeps_every_steps_metrics_and_the_norms_of_the_framed_steps(demo_model):
    from advlens.engine import execute, prepare_job
    from advlens.engine.metrics import FRAME_METRICS, STEP_METRICS
    from advlens.engine.record import FORMAT_VERSION
    from advlens.engine.telemetry import Telemetry

    config = RunConfig(image="sample:triangle", resolution=24, attack=AttackConfig(steps=6, seed=3))
    sparse = execute(prepare_job(config, model=demo_model), Telemetry(frame_interval_s=3600))
    assert sparse.format_version == FORMAT_VERSION == 3
    for name in STEP_METRICS:
        assert np.isfinite(sparse.metrics[name]).all() or name == "target_prob"
    for name in FRAME_METRICS:  # a frame at the first step and at the last, none between
        assert np.isfinite(sparse.metrics[name][[0, -1]]).all() and np.isnan(sparse.metrics[name][1:-1]).all()
    assert sparse.metrics["linf"][-1, 0] == pytest.approx(sparse.norms["linf"][0])
    header, _, step1 = sparse.metrics_csv().splitlines()[:3]
    row = dict(zip(header.split(","), step1.split(","), strict=True))
    assert row["l2"] == "nan" and row["loss"] != "nan"
