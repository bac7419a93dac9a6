"""`advlens bench`: interleaved rounds, per-round ratios to the hand-written loop, every implementation,
the thread count and the memory rows, as text and as JSON (what it measures is judged by people, not
asserted here: tests never assert a duration)."""

import json
import subprocess
import sys

import pytest

from advlens.engine.bench import REFERENCE, format_bench, run_bench


@pytest.fixture(scope="module")
def quick():
    return run_bench("cpu", quick=True)


def test_every_case_times_every_implementation_against_the_loop_of_its_round(quick):
    assert quick["threads"] == 1 and quick["rounds"] >= 3
    assert [(c["size"], c["batch"]) for c in quick["cases"]] == [(16, 1), (16, 4)]
    for case in quick["cases"]:
        impls = case["implementations"]
        assert {REFERENCE, "loop+eval", "advlens", "torchattacks", "foolbox"} <= set(impls)  # both are test dependencies
        assert impls[REFERENCE]["ratio"] == impls[REFERENCE]["ratio_min"] == impls[REFERENCE]["ratio_max"] == 1.0
        for entry in impls.values():
            assert entry["ratio_min"] <= entry["ratio"] <= entry["ratio_max"] and entry["ms_per_step"] > 0
            assert 0 <= entry["success_rate"] <= 1
    assert any("no CUDA device" in reason for reason in quick["skipped"])


def test_the_memory_rows_come_from_fresh_processes(quick):
    rows = quick["memory"]
    assert [r["steps"] for r in rows] == [5, 50] and all(r["peak_rss_mb"] > 50 for r in rows)


def test_the_malloc_rows_time_the_loop_in_two_fresh_processes(quick):
    (row,) = quick["allocator_rows"]
    assert (row["size"], row["batch"]) == (16, 4)
    assert row["system_ms_per_step"] > 0 and row["engine_ms_per_step"] > 0
    assert row["speedup"] == pytest.approx(row["system_ms_per_step"] / row["engine_ms_per_step"], rel=0.02)
    assert quick["allocator"].startswith("glibc mmap and trim thresholds")  # this suite runs on glibc Linux


def test_the_memory_probe_counts_its_own_pages_not_its_parents():
    import torch

    from advlens.engine.bench import peak_rss_mb

    held = torch.ones(150_000_000)  # 600 MB in this process when the probe is spawned
    assert held.sum() > 0 and peak_rss_mb(32, 3) < 500  # ru_maxrss would carry this process's RSS over


def test_the_table_names_the_method(quick):
    text = format_bench(quick)
    assert "interleaved rounds" in text and "1 torch thread(s)" in text and "median (min-max)" in text
    assert "loop ms/step" in text and "peak RSS" in text and "skipped: GPU rows" in text
    assert "malloc: glibc mmap and trim thresholds 256 MiB" in text and "with the engine's" in text


def test_the_command_prints_json():
    result = subprocess.run([sys.executable, "-m", "advlens", "bench", "--quick", "--json", "--no-memory",
                             "--no-allocator", "--device", "cpu"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["memory"] == data["allocator_rows"] == [] and len(data["cases"]) == 2 and data["threads"] == 1


def test_a_bad_count_is_one_line_and_exit_2():
    result = subprocess.run([sys.executable, "-m", "advlens", "bench", "--rounds", "0"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "at least 1" in result.stderr
