"""`advlens runs list|show|compare|replay|report`: round trips in a subprocess, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from advlens.cli import main
from advlens.engine import AttackConfig, RunConfig, RunRecord, run_attack


def advlens(*args: str) -> subprocess.CompletedProcess:
    # the same thread count as this process, so the replay computes exactly as the recorded run did
    env = os.environ | {"OMP_NUM_THREADS": str(torch.get_num_threads())}
    return subprocess.run([sys.executable, "-m", "advlens", *args], capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.fixture(scope="module")
def runs(demo_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    paths = []
    for stamp, eps in (("20250101-100000", 8 / 255), ("20250102-100000", 3 / 255)):
        record = run_attack(RunConfig(image="sample:heart", resolution=32, device="cpu",
                                      attack=AttackConfig(steps=3, eps=eps, seed=5)), model=demo_model)
        record.created = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T10:00:00+00:00"
        paths.append(record.save(folder / f"{stamp}-pgd"))
    return folder, paths


def test_list_in_a_subprocess_is_newest_first(runs):
    folder, (a, b) = runs
    result = advlens("runs", "list", "--dir", str(folder))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(str(b)) and lines[1].endswith(str(a))
    assert "eps=3/255" in lines[0] and "sample:heart" in lines[0]


def test_compare_json_in_a_subprocess_names_eps(runs):
    _, (a, b) = runs
    result = advlens("runs", "compare", str(a), str(b), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [d["field"] for d in data["differences"]] == ["attack.eps"]
    assert data["differences"][0]["a"] == pytest.approx(8 / 255)
    assert len(data["series"]["loss"]["a"]) == 4


def test_replay_in_a_subprocess_is_identical_and_exits_0(runs, tmp_path):
    _, (a, _) = runs
    result = advlens("runs", "replay", str(a), "--json", "--out", str(tmp_path / "again"))
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["identical"] is True and data["differences"] == []
    replayed = RunRecord.load(tmp_path / "again")
    np.testing.assert_allclose(replayed.adversarial, RunRecord.load(a).adversarial, atol=1e-5, rtol=0)


def test_replay_of_a_record_that_does_not_match_exits_1(runs, tmp_path, capsys):
    _, (a, _) = runs
    record = RunRecord.load(a)
    record.adversarial = np.clip(record.adversarial + 0.002, 0, 1)
    tampered = record.save(tmp_path / "tampered")
    assert main(["runs", "replay", str(tampered)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("DIFFERS") and "adversarial images differ" in out


def test_show_and_report(runs, tmp_path, capsys):
    _, (a, _) = runs
    assert main(["runs", "show", str(a)]) == 0
    out = capsys.readouterr().out
    assert "attack       PGD linf eps=8/255 steps=3 untargeted, seed 5" in out
    assert main(["runs", "show", str(a / "record.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["attack"]["seed"] == 5
    out_file = tmp_path / "sub" / "report.html"
    assert main(["runs", "report", str(a), "--out", str(out_file)]) == 0
    assert out_file.read_text().startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in out_file.read_text()


@pytest.mark.parametrize("args, message", [
    (["runs", "show", "/no/such/run"], "no such folder"),
    (["runs", "replay", "/no/such/run"], "no such folder"),
    (["runs", "compare", "/no/such/run", "/no/such/other"], "no such folder"),
    (["runs", "list", "--dir", "/no/such/folder"], "not a folder of run records"),
    (["runs", "report", "/no/such/run", "--out", "r.html"], "no such folder"),
    (["runs", "report", "/no/such/run"], "--out"),
    (["runs"], "required"),
])
def test_bad_input_gets_one_line_and_exit_code_2(args, message, capsys):
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_a_folder_that_is_not_a_record(tmp_path, capsys):
    assert main(["runs", "show", str(tmp_path)]) == 2
    assert "it has no record.json" in capsys.readouterr().err
