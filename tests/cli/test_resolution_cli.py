"""`advlens resolution`: JSON and CSV out, the per-resolution control models, one-line refusals."""

from __future__ import annotations

import json
import subprocess
import sys

from advlens.engine.labs.resolution import ResolutionLabConfig

BUNDLED = {size: (0, 1) for size in (16, 32, 64, 128)}  # the control models that ship (test_resolution_control.py)


def test_cli_per_resolution_models_json_round_trip(tmp_path):
    csv_path = tmp_path / "m.csv"
    out = subprocess.run([sys.executable, "-m", "advlens", "resolution", "--per-resolution-models", "--images",
                          "demo:2", "--resolutions", "16,24,32", "--steps", "5", "--norms", "l2", "--device", "cpu",
                          "--csv", str(csv_path), "--json"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["model_choice"] == "per-resolution" and data["missing_models"] == [24]
    assert data["models"] == {"16": ["shapes-cnn-r16", "shapes-cnn-r16-s1"], "32": ["shapes-cnn-r32", "shapes-cnn-r32-s1"]}
    assert data["config"]["models"] == {str(s): [f"shapes-cnn-r{s}" + (f"-s{k}" if k else "") for k in seeds]
                                        for s, seeds in BUNDLED.items()}
    assert data["replicates"] == 2 and data["fits"]["l2"]["seeds"] == 2
    assert all(m["model"].startswith(f"shapes-cnn-r{m['resolution']}") for m in data["measurements"])
    assert ResolutionLabConfig.from_dict(data["config"]).models[32] == ["shapes-cnn-r32", "shapes-cnn-r32-s1"]
    assert len(csv_path.read_text().strip().splitlines()) == 1 + 2 * 2 * 2  # images x sizes x seeds
    bad = subprocess.run([sys.executable, "-m", "advlens", "resolution", "--models", "16=demo-r16,32"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "SIZE=MODEL" in bad.stderr and bad.stderr.count("\n") == 1


def test_cli_resolution_json_and_csv(tmp_path):
    csv_path = tmp_path / "m.csv"
    out = subprocess.run([sys.executable, "-m", "advlens", "resolution", "--images", "demo:3", "--resolutions",
                          "16,24", "--steps", "10", "--device", "cpu", "--csv", str(csv_path), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["model_mode"] == "native" and "l2" in data["fits"]
    assert data["joint_verdict"]["outcome"] in ("group", "ambiguous", "none") and data["verdicts"][0]
    assert len(csv_path.read_text().strip().splitlines()) == 1 + 3 * 2 * 2
    text = subprocess.run([sys.executable, "-m", "advlens", "resolution", "--images", "demo:2", "--resolutions",
                           "16,24", "--steps", "5", "--norms", "l2", "--device", "cpu", "--convergence-images", "0"],
                          capture_output=True, text=True, timeout=300)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[1].startswith(("The data support", "The intervals are too wide"))  # the joint verdict leads
    assert "failed searches, censored: L2" in text.stdout
    bad = subprocess.run([sys.executable, "-m", "advlens", "resolution", "--resolutions", "16"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "at least two resolutions" in bad.stderr


