"""The CLI round trip in a subprocess, and one-line errors with exit code 2 for bad input."""

import json
import subprocess
import sys

import pytest

from advlens.engine import RunRecord


def advlens(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advlens", *args], capture_output=True, text=True, timeout=300)


def test_attack_json_round_trip(tmp_path):
    out = tmp_path / "rec"
    result = advlens("attack", "--model", "demo", "--image", "sample:star", "--attack", "pgd", "--norm", "linf",
                     "--eps", "8/255", "--steps", "10", "--resolution", "32", "--seed", "0", "--device", "cpu",
                     "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["config"]["attack"]["eps"] == pytest.approx(8 / 255)
    assert data["record_path"] == str(out)
    assert data["norms"]["linf"][0] <= 8 / 255 + 1e-6
    assert data["class_names"][data["clean_pred"][0]] == "star"
    assert data["success"] == [data["adv_pred"][0] != data["labels"][0]]
    loaded = RunRecord.load(out)
    assert loaded.adv_pred == data["adv_pred"] and loaded.config.attack.steps == 10


def test_attack_prints_a_readable_summary(tmp_path):
    result = advlens("attack", "--image", "sample:heart", "--resolution", "24", "--steps", "3", "--device", "cpu",
                     "--target", "0", "--out", str(tmp_path / "r"))
    assert result.returncode == 0, result.stderr
    assert "clean        heart" in result.stdout
    assert "targeted at circle" in result.stdout
    assert f"record       {tmp_path / 'r'}" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["attack", "--eps", "eight"], "cannot read 'eight'"),
    (["attack", "--norm", "l7"], "invalid choice"),
    (["attack", "--image", "/no/such/file.png", "--no-save"], "no such file"),
    (["attack", "--image", "sample:dragon", "--no-save"], "no sample 'dragon'"),
    (["attack", "--model", "nope", "--no-save"], "no model 'nope'"),
    (["attack", "--target", "42", "--no-save", "--resolution", "16"], "target class 42 does not exist"),
    (["attack", "--attack", "magic", "--no-save"], "unknown attack 'magic'"),
    (["attack", "--resolution", "2"], "resolution must be between"),
    (["attack", "--steps", "0", "--no-save"], "steps must be at least 1"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_gets_one_line_and_exit_code_2(args, message):
    result = advlens(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_corrupt_image_file_is_bad_input(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    result = advlens("attack", "--image", str(bad), "--no-save")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "broken.png" in result.stderr


def test_models_and_samples_list_what_is_bundled():
    models = advlens("models")
    assert models.returncode == 0 and "shapes-cnn" in models.stdout and "32px" in models.stdout
    samples = advlens("samples")
    assert samples.returncode == 0 and "sample:star" in samples.stdout.split()
