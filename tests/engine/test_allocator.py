"""The engine's malloc thresholds: set once per process where glibc is, and left alone when the user says so."""

import subprocess
import sys

import pytest

from advlens.engine import allocator

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")


def _applied_in_fresh_process(env_value: str | None) -> str:
    env = {k: v for k, v in __import__("os").environ.items() if k != allocator.OPT_OUT}
    if env_value is not None:
        env[allocator.OPT_OUT] = env_value
    code = "from advlens.engine.allocator import tune_for_torch; print(tune_for_torch()); print(tune_for_torch())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()
    assert first == second  # applied once, then reported
    return first


def test_a_process_gets_the_thresholds():
    assert _applied_in_fresh_process(None) == f"glibc mmap and trim thresholds {allocator.MMAP_THRESHOLD >> 20} MiB"


def test_system_keeps_glibc_as_it_comes():
    assert _applied_in_fresh_process(" System ") == f"glibc defaults ({allocator.OPT_OUT}=system)"


def test_the_command_line_sets_them_for_its_engine_commands():  # the engine process: test_engine_process
    code = ("import sys; from advlens.cli import main; "
            "rc = main(['attacks']); from advlens.engine import allocator; "
            "print(allocator._applied, file=sys.stderr); sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "glibc mmap and trim thresholds" in out.stderr.splitlines()[-1]


def test_an_idle_engine_hands_what_a_run_kept_back():
    code = ("import torch\nfrom advlens.engine.allocator import release_free_memory, tune_for_torch\n"
            "def rss():\n    return int(open('/proc/self/statm').read().split()[1]) * 4096 >> 20\n"
            "print(release_free_memory())\n"  # nothing to hand back before the thresholds are set: not done
            "tune_for_torch()\nx = [torch.ones(1_000_000) for _ in range(50)]\nsmall = torch.ones(10)\n"
            "del x\nkept = rss()\nprint(release_free_memory(), kept - rss())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    before, after = out.stdout.splitlines()
    done, freed = after.split()
    assert before == "False" and done == "True" and int(freed) > 150  # of the 200 MB freed but kept (under the trim threshold)
