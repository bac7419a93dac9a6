"""Bad arguments and dangerous `--out` folders through the real command line: one line, exit 2, nothing lost."""

from __future__ import annotations

import subprocess
import sys

import pytest

RUN = ["attack", "--steps", "1", "--resolution", "16", "--device", "cpu"]


def advlens(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advlens", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env=env)


def _one_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip() and "Warning" not in line
             and not line.startswith("  warnings.warn")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.mark.parametrize(("extra", "words"), [
    (["--seed", str(2**64)], "seed"), (["--seed", "-1"], "seed"), (["--device", "meta"], "does not compute"),
    (["--device", "xpu"], "does not compute"), (["--device", "ipu"], "does not compute"),
])
def test_bad_arguments_are_one_line_and_exit_2(extra, words):
    result = advlens(*RUN, "--no-save", *extra)
    assert result.returncode == 2
    assert words in _one_line(result)


def test_out_never_replaces_a_folder_that_is_not_a_record(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"precious")
    result = advlens(*RUN, "--out", str(photos))
    assert result.returncode == 2 and "not a run record" in _one_line(result) and "--force" in result.stderr
    assert (photos / "holiday.jpg").read_bytes() == b"precious"
    here = advlens(*RUN, "--out", ".", cwd=tmp_path)
    assert here.returncode == 2 and "current folder" in _one_line(here)
    assert (photos / "holiday.jpg").read_bytes() == b"precious"
    forced = advlens(*RUN, "--out", str(photos), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (photos / "record.json").is_file() and not (photos / "holiday.jpg").exists()
    again = advlens(*RUN, "--out", str(photos), "--seed", "3")  # an old record is replaced without --force
    assert again.returncode == 0 and '"seed": 3' in (photos / "record.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]  # no temporary folders left
