"""Crafted model files that would reach the file system, hang or crash: refused, or stopped in a child.

Each hostile file tries to create a marker file; the marker must never appear unless the person
trusts the file (and then it does, which proves the file really is hostile).
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from advlens.engine.errors import ModelLoadError, ModelOutputError, UntrustedModelError
from advlens.engine.loaders import load_model
from advlens.engine.loaders.graph_check import PURE_OPERATORS, expression_problem
from advlens.engine.loaders.sandbox import Limits, run_limited


class FileWriter(nn.Module):
    """forward() writes b'hi' into `path` through torch.from_file(shared=True): a TorchScript file write."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.register_buffer("payload", torch.tensor([104, 105], dtype=torch.uint8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        written = torch.from_file(self.path, shared=True, size=2, dtype=torch.uint8)
        written.copy_(self.payload)
        return x.mean(dim=(2, 3))[:, :2] + written[:1].float() * 0


class WritesWhileLoading(nn.Module):
    """`__setstate__` runs inside torch.jit.load, before any graph could be checked."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.written = torch.zeros(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))[:, :2] + self.written

    @torch.jit.export
    def __getstate__(self) -> tuple[str, bool]:
        return (self.path, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[str, bool]) -> None:
        self.path = state[0]
        self.training = state[1]
        self.written = torch.from_file(self.path, shared=True, size=1, dtype=torch.uint8).float()


class Spins(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        i = 0
        while i < 10**15:
            i += 1
        return x.mean(dim=(2, 3))[:, :2]


def _card(path: Path, classes: int = 2) -> None:
    path.with_suffix(".json").write_text(json.dumps({"name": path.stem, "labels": [f"c{i}" for i in range(classes)]}))


def _script(module: nn.Module, path: Path) -> Path:
    torch.jit.save(torch.jit.script(module), str(path))
    _card(path)
    return path


def test_a_scripted_model_that_writes_a_file_is_refused_naming_the_operator(tmp_path):
    marker = tmp_path / "written-by-the-model"
    path = _script(FileWriter(str(marker)), tmp_path / "writer.pt")
    with pytest.raises(UntrustedModelError, match="aten::from_file") as caught:
        load_model(path, "cpu")
    assert "--trust-pickle" in str(caught.value) and "\n" not in str(caught.value)
    assert not marker.exists()
    load_model(path, "cpu", trust_pickle=True)  # trusted, it runs: the file was really hostile
    assert marker.read_bytes() == b"hi"


def test_code_that_runs_inside_torch_jit_load_is_refused_before_loading(tmp_path):
    marker = tmp_path / "written-while-loading"
    path = _script(WritesWhileLoading(str(marker)), tmp_path / "setstate.pt")
    marker.unlink(missing_ok=True)  # saving calls __getstate__ only; be sure nothing was left
    with pytest.raises(UntrustedModelError, match="__setstate__"):
        load_model(path, "cpu")
    assert not marker.exists()


def test_a_print_in_a_forward_hook_is_not_pure_tensor_maths(tmp_path):
    class Hooked(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3))[:, :2]

    def shout(module: nn.Module, inputs: tuple[torch.Tensor], out: torch.Tensor) -> torch.Tensor:
        print("hello from a hook")
        return out

    hooked = Hooked()
    hooked.register_forward_hook(shout)
    path = _script(hooked, tmp_path / "hooked.pt")
    with pytest.raises(UntrustedModelError, match="prim::Print"):
        load_model(path, "cpu")


def _rewrite_pt2(source: Path, target: Path, edit) -> Path:
    """A copy of a .pt2 archive whose serialized graph went through `edit(graph_dict)`."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info.filename)
            if "/models/" in info.filename and info.filename.endswith(".json"):
                graph = json.loads(data)
                edit(graph)
                data = json.dumps(graph).encode()
            new.writestr(info, data)
    return target


@pytest.fixture(scope="module")
def exported_pt2(tmp_path_factory, demo_model) -> Path:
    folder = tmp_path_factory.mktemp("pt2")
    batch = torch.export.Dim("batch", min=1, max=64)
    program = torch.export.export(demo_model.network, (torch.rand(2, 3, 32, 32),), dynamic_shapes={"x": {0: batch}})
    path = folder / "demo.pt2"
    torch.export.save(program, str(path))
    return path


def _nodes(graph: dict) -> list[dict]:
    return graph["graph_module"]["graph"]["nodes"]


@pytest.mark.parametrize("target", ["torch.ops.aten.from_file.default", "torch.os.system",
                                    "torch.ops.mylib.anything.default", "torch.ops.higher_order.cond"])
def test_a_pt2_graph_calling_anything_but_tensor_maths_is_refused(exported_pt2, tmp_path, demo_model, target):
    def swap(graph: dict) -> None:
        _nodes(graph)[0]["target"] = target

    path = _rewrite_pt2(exported_pt2, tmp_path / "evil.pt2", swap)
    _card(path, len(demo_model.labels))
    with pytest.raises(UntrustedModelError, match=target.replace(".", r"\.")):
        load_model(path, "cpu")


def test_a_pt2_shape_expression_that_would_hang_sympy_is_refused_at_once(exported_pt2, tmp_path, demo_model):
    def bomb(graph: dict) -> None:
        stack = [graph]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                if isinstance(item.get("expr_str"), str):
                    item["expr_str"] = "9**9**9"
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)

    path = _rewrite_pt2(exported_pt2, tmp_path / "bomb.pt2", bomb)
    _card(path, len(demo_model.labels))
    with pytest.raises(UntrustedModelError, match="shape expression"):
        load_model(path, "cpu")


@pytest.mark.parametrize(("text", "ok"), [
    ("Symbol('s77', positive=True, integer=True)", True), ("FloorDiv(s0, 2) + 3*s1", True), ("s0**2 - 1", True),
    ("Eq(Mod(s0, 4), 0) & Ne(s1, 3)", True), ("9**9**9", False), ("Pow(9, Pow(9, 9))", False),
    ("(s0**64)**64", False), ("s0**100", False), ("__import__('os').system('x')", False), ("s0.__class__", False),
    ("factorial(99999)", False), ("1" * 40, False), ("(" * 60 + "s0" + ")" * 60, False),
    ("Symbol('s0', evaluate=True)", False), ("lambda: 0", False)])
def test_shape_expressions_are_parsed_by_a_bounded_grammar(text, ok):
    assert (expression_problem(text) is None) == ok


def test_the_allowlist_names_real_operators_and_no_file_or_process_operator():
    schemas = {s.name.split("::", 1)[1] for s in torch._C._jit_get_all_schemas() if s.name.startswith("aten::")}
    missing = sorted(n for n in PURE_OPERATORS if n not in schemas and not n.startswith("__"))
    assert len(missing) < len(PURE_OPERATORS) // 5, missing  # a few names are TorchScript-only builtins
    assert not PURE_OPERATORS & {"from_file", "save", "_load", "load", "set_", "_save_for_mobile", "warn"}


def test_the_state_dict_check_names_the_global_in_plain_words(tmp_path):
    class System:
        def __reduce__(self):
            return (os.system, ("echo never",))

    for legacy in (False, True):
        path = tmp_path / f"evil-{legacy}.pt"
        torch.save({"weight": torch.zeros(2), "extra": System()}, path, _use_new_zipfile_serialization=not legacy)
        _card(path)
        with pytest.raises(UntrustedModelError) as caught:
            load_model(path, "cpu")
        message = str(caught.value)
        assert "refused: it contains Python objects that would run code (posix.system)" in message
        assert "corrupt" not in message and "weights_only" not in message and "\n" not in message
    plain = tmp_path / "plain.pt"
    plain.write_bytes(pickle.dumps({"x": eval}, protocol=4))  # STACK_GLOBAL, which torch's reader calls "operand 149"
    _card(plain)
    with pytest.raises(UntrustedModelError, match=r"builtins\.eval"):
        load_model(plain, "cpu")


def test_a_model_that_never_returns_is_stopped_by_the_time_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVLENS_PROBE_TIME_LIMIT", "3")
    path = _script(Spins(), tmp_path / "spins.pt")
    with pytest.raises(ModelLoadError, match="did not finish within 3 s"):
        load_model(path, "cpu")


def test_a_model_that_allocates_without_bound_is_stopped_by_the_memory_limit(tmp_path):
    class Hungry(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3))[:, :2] + torch.ones(1 << 37)[:1]  # 512 GiB

    path = _script(Hungry(), tmp_path / "hungry.pt")
    with pytest.raises((ModelLoadError, ModelOutputError), match="memory"):
        load_model(path, "cpu")


def test_a_crash_in_the_child_is_one_line_and_the_caller_goes_on():
    with pytest.raises(ModelLoadError, match="SIGABRT") as caught:
        run_limited(os.abort, (), "the crash test", Limits(time_s=30))
    assert "\n" not in str(caught.value)
    assert run_limited(len, ("four",), "a plain call") == 4
