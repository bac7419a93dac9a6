"""`advlens analyze`: the same engine analyses as the Analysis tab, as JSON."""

from __future__ import annotations

import pytest


def test_cli_analyze_runs_the_same_engine_analyses_as_the_tab():
    import json as json_module
    import subprocess
    import sys

    def analyze(kind: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "advlens", "analyze", kind, "--images", "demo:4",
                              "--steps", "3", "--device", "cpu", "--json"], capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stderr
        return json_module.loads(out.stdout)

    bands = analyze("frequency")
    assert sum(bands["perturbation"]) == pytest.approx(1.0) and sum(bands["image"]) == pytest.approx(1.0)
    noise = analyze("noise")
    assert noise["trials"] == 10 and 0 <= noise["gaussian_fooled"] <= 1


