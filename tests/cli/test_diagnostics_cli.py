"""The CLI reports the indicators of attack failure: in --json, and by name with the fix in plain output."""

import json
import subprocess
import sys


def advlens(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "advlens", *args], capture_output=True, text=True, timeout=600)


def test_the_broken_models_are_listed_and_open_by_name():
    listing = advlens("models")
    assert listing.returncode == 0, listing.stderr
    assert "shapes-cnn-quantized" in listing.stdout and "shapes-cnn-saturated" in listing.stdout


def test_attack_json_carries_the_indicators_and_the_fix(tmp_path):
    result = advlens("attack", "--model", "shapes-cnn-saturated", "--image", "sample:star", "--resolution", "32",
                     "--steps", "10", "--device", "cpu", "--no-save", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["success"] == [False]
    diagnostics = data["diagnostics"]
    assert diagnostics["counts"]["gradients"] == 1
    gradients = next(i for i in diagnostics["summary"] if i["name"] == "gradients")
    assert gradients["level"] == "fail" and gradients["fix"]["changes"]["attack"] == "apgd-dlr"
    # the fix, run as the CLI prints it, fools the image
    fixed = advlens("attack", "--model", "shapes-cnn-saturated", "--image", "sample:star", "--resolution", "32",
                    "--attack", "apgd-dlr", "--steps", "20", "--device", "cpu", "--no-save", "--json",
                    "--no-diagnostics")
    assert json.loads(fixed.stdout)["success"] == [True] and json.loads(fixed.stdout)["diagnostics"] is None


def test_plain_output_names_what_fired_with_the_fix_as_flags():
    result = advlens("attack", "--model", "shapes-cnn-quantized", "--image", "sample:star", "--resolution", "32",
                     "--steps", "10", "--device", "cpu", "--no-save")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "Unavailable gradients" in line]
    assert lines and lines[0].startswith("diagnostics  FAIL Unavailable gradients")
    assert "fix: Use the gradient-free Square attack (1000 queries) (--attack square --steps 1000" in result.stdout
    clean = advlens("attack", "--image", "sample:star", "--resolution", "32", "--eps", "16/255", "--steps", "20",
                    "--device", "cpu", "--no-save")
    assert "diagnostics  none of the" in clean.stdout and "fix:" not in clean.stdout


def test_sweep_counts_the_images_that_triggered_each_indicator():
    args = ("sweep", "--model", "shapes-cnn-quantized", "--images", "demo:6", "--resolution", "32",
            "--eps", "0,4/255,8/255", "--steps", "5", "--device", "cpu")
    result = advlens(*args, "--json")
    assert result.returncode == 0, result.stderr
    points = json.loads(result.stdout)["diagnostics"]
    assert [p["counts"].get("gradients", 0) for p in points][1:] == [6, 6]
    plain = advlens(*args)
    assert "Unavailable gradients 6" in plain.stdout
    assert "fix: Use the gradient-free Square attack" in plain.stdout
