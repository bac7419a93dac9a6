"""Run records against crafted input and crashes: tampered files are one RecordError, writing never loses a
folder, and the HTML report shows every field as text.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advlens.engine import AttackConfig, RunConfig, run_attack
from advlens.engine.record import RecordError, RunRecord
from advlens.engine.runs import report_html

ENGINE = Path(__file__).resolve().parents[2] / "engine"


@pytest.fixture(scope="module")
def record() -> RunRecord:
    return run_attack(RunConfig(image="sample:star", resolution=16, device="cpu", attack=AttackConfig(steps=3)))


@pytest.fixture()
def saved(record, tmp_path) -> Path:
    return record.save(tmp_path / "run")


# ---------------------------------------------------------------------------------------------- where a record goes
def test_a_folder_that_is_not_a_record_is_never_replaced_without_force(record, tmp_path):
    mine = tmp_path / "my-photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"precious")
    with pytest.raises(RecordError, match="not a run record.*--force") as caught:
        record.save(mine)
    assert "\n" not in str(caught.value)
    assert (mine / "holiday.jpg").read_bytes() == b"precious" and sorted(p.name for p in mine.iterdir()) == ["holiday.jpg"]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    with pytest.raises(RecordError, match="not a folder"):
        record.save(a_file)
    assert a_file.read_text() == "keep me"
    record.save(mine, force=True)  # asked for
    assert RunRecord.load(mine).same_as(record) and not (mine / "holiday.jpg").exists()


def test_an_empty_folder_and_an_old_record_may_be_written(record, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    record.save(empty)
    record.save(empty)  # replacing a record needs no force
    assert RunRecord.load(empty).same_as(record)


def test_the_current_folder_and_its_parents_are_refused_even_with_force(record, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep").write_text("x")
    for target in (".", "..", str(tmp_path), "/"):
        with pytest.raises(RecordError, match="current folder"):
            record.save(target, force=True)
    assert (tmp_path / "keep").read_text() == "x"


def test_stale_temporary_folders_of_killed_writers_are_cleaned_on_the_next_write(record, tmp_path):
    record.save(tmp_path / "run")
    for stale in (".run.abc.advlens-tmp", ".other.x.advlens-tmp", ".run.1234.tmp", ".run.old"):
        (tmp_path / stale).mkdir()
        (tmp_path / stale / "record.json").write_text("{}")
    record.save(tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


_WRITER = textwrap.dedent("""
    import sys, types
    engine, target = sys.argv[1], sys.argv[2]
    for name, path in (("advlens", []), ("advlens.engine", [engine])):
        module = types.ModuleType(name)
        module.__path__ = path
        sys.modules[name] = module
    from advlens.engine.files import write_folder

    def fill(version):
        def write(folder):
            for part in range(6):
                (folder / f"part{part}").write_bytes(str(version).encode() * 20000)
        return write

    version = 0
    while True:
        version += 1
        write_folder(target, fill(version))
        if version == 3:
            print("ready", flush=True)
""")


def _complete(folder: Path) -> bool:
    parts = [folder / f"part{i}" for i in range(6)]
    if not all(p.is_file() for p in parts):
        return False
    contents = {p.read_bytes() for p in parts}
    return len(contents) == 1


def test_kill_minus_9_at_any_moment_leaves_the_old_or_the_new_folder(tmp_path):
    """A writer replacing one folder over and over is killed at random moments, 20 times."""
    target = tmp_path / "record"
    rng = random.Random(0)
    for _ in range(20):
        writer = subprocess.Popen([sys.executable, "-c", _WRITER, str(ENGINE), str(target)], stdout=subprocess.PIPE,
                                  text=True)
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0, 0.05))  # a random moment to kill it at, not a synchronisation
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
        assert target.is_dir() and _complete(target), sorted(p.name for p in target.iterdir())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "record"]
    from advlens.engine.files import write_folder

    write_folder(target, lambda folder: (folder / "part0").write_bytes(b"last"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record"], leftovers


# ---------------------------------------------------------------------------------------------- reading a record
def _tamper(saved: Path, **changes) -> Path:
    data = json.loads((saved / "record.json").read_text())
    for dotted, value in changes.items():
        where = data
        *parents, key = dotted.split("__")
        for parent in parents:
            where = where[parent]
        where[key] = value
    (saved / "record.json").write_text(json.dumps(data))
    return saved


@pytest.mark.parametrize("changes", [
    {"labels": []}, {"labels": ["a"]}, {"labels": [10**30]}, {"clean_conf": "high"}, {"success": [1]},
    {"class_names": []}, {"class_names": [1, 2]}, {"norms": {"l2": [0.1]}}, {"norms__l2": [float("nan")]},
    {"status": "<b>done</b>"}, {"steps_run": -1}, {"duration_s": "fast"}, {"format_version": 99},
    {"format_version": "1"}, {"config": []}, {"config__attack__seed": 2**70}, {"config__attack__eps": -1},
    {"config__attack__steps": 0}, {"config__attack__norm": "l7"}, {"config__resolution": 10**9},
    {"config__attack__params": {"decay": "x"}}, {"config__unknown": 1}, {"versions": [1]},
])
def test_a_tampered_record_json_is_one_record_error(saved, changes):
    _tamper(saved, **changes)
    with pytest.raises(RecordError) as caught:
        RunRecord.load(saved)
    assert "\n" not in str(caught.value) and "record" in str(caught.value)


def _npz_with(saved: Path, name: str, header_shape: tuple, dtype: str = "<f4", data: bytes = b"") -> None:
    """Replace one member of arrays.npz by a .npy whose header claims `header_shape`."""
    path = saved / "arrays.npz"
    with zipfile.ZipFile(path) as old:
        members = {n: old.read(n) for n in old.namelist()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": dtype, "fortran_order": False, "shape": header_shape})
    members[name] = header.getvalue() + data
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for member, content in members.items():
            new.writestr(member, content)


def test_an_array_header_asking_for_a_terabyte_is_refused_before_allocating(saved):
    _npz_with(saved, "original.npy", (1, 3, 2**19, 2**19))  # 3 TiB of float32
    with pytest.raises(RecordError, match="original has shape|GiB"):
        RunRecord.load(saved)
    _npz_with(saved, "original.npy", (1, 3, 8192, 8192))  # plausible header, no data behind it
    with pytest.raises(RecordError, match="truncated"):
        RunRecord.load(saved)
    _npz_with(saved, "metric_loss.npy", (3, 1), dtype="|O")
    with pytest.raises(RecordError):
        RunRecord.load(saved)


def test_special_files_in_place_of_a_record_are_refused_at_once(saved, tmp_path):
    (saved / "record.json").unlink()
    os.mkfifo(saved / "record.json")
    with pytest.raises(RecordError, match="named pipe"):
        RunRecord.load(saved)
    fifo_folder = tmp_path / "fifo"
    os.mkfifo(fifo_folder)
    with pytest.raises(RecordError, match="not a run record folder"):
        RunRecord.load(fifo_folder)


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.sampled_from(["config", "attack", "labels", "norms", "l2", "class_names", "seed", "eps",
                                      "success", "clean_conf", "status", "format_version", "steps", "0"]),
                     min_size=1, max_size=3),
       value=_JSON)
def test_fuzzed_record_json_loads_or_is_one_record_error(saved, path, value):
    original = json.loads((saved / "record.json").read_text())
    data = json.loads(json.dumps(original))
    where = data
    for key in path[:-1]:
        child = where.get(key) if isinstance(where, dict) else None
        if not isinstance(child, dict):
            break
        where = child
    if isinstance(where, dict):
        where[path[-1]] = value
    (saved / "record.json").write_text(json.dumps(data))
    try:
        loaded = RunRecord.load(saved)
    except RecordError as exc:
        assert "\n" not in str(exc)
    else:
        report_html(loaded)  # whatever loads can be described
    finally:
        (saved / "record.json").write_text(json.dumps(original))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 4000), flip=st.integers(0, 4000))
def test_fuzzed_arrays_npz_loads_or_is_one_record_error(saved, cut, flip):
    good = (saved / "arrays.npz").read_bytes()
    data = bytearray(good[:max(0, len(good) - cut)] if cut % 2 else good)
    if data:
        data[flip % len(data)] ^= 0xFF
    (saved / "arrays.npz").write_bytes(bytes(data))
    try:
        RunRecord.load(saved)
    except RecordError as exc:
        assert "\n" not in str(exc)
    finally:
        (saved / "arrays.npz").write_bytes(good)


# ---------------------------------------------------------------------------------------------- the report
class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_every_string_and_number_field_reaches_the_report_as_text(record):
    evil = "<script>alert(1)</script><b onmouseover=x>"
    tampered = RunRecord(
        config=RunConfig(model=evil, image=evil, resolution=evil, resample_filter=evil, device=evil,
                         attack=AttackConfig(attack=evil, norm=evil, eps=evil, steps=evil, step_size=evil,
                                             random_start=evil, target=evil, seed=evil, early_stop=evil,
                                             restarts=evil, params={evil: evil})),
        model_name=evil, class_names=[evil], device=evil, labels=[evil], clean_pred=[evil], clean_conf=[evil],
        adv_pred=[evil], adv_conf=[evil], success=[evil], norms={"l0": [evil], "l2": [evil], "linf": [evil]},
        status=evil, steps_run=evil, duration_s=evil, original=record.original, adversarial=record.adversarial,
        metrics=record.metrics, versions={evil: evil}, created=evil, format_version=evil)
    page = report_html(tampered, source=evil)
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "b" not in parser.tags
    assert "<script>" not in page and "&lt;script&gt;" in page
