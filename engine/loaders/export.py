"""torch.export (.pt2) archives: checked member by member before torch.export.load may touch them.

torch.export archives can carry pickles, compiled code and expressions that are evaluated while
loading; an archive is loaded untrusted only after `export_archive_risk` found none of these.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import torch
from torch import nn

from ..errors import ModelLoadError, UntrustedModelError, first_error_line
from .formats import ModelFile
from .graph_check import export_target_problem, expression_problem
from .torch_files import untrusted_code_message

_EXPORT_SAFE_MEMBER = re.compile(
    r"(?:archive_format|archive_version|byteorder|version|\.data/version|\.data/serialization_id"
    r"|models/\w+\.json|data/weights/\w+_weights_config\.json|data/weights/weight_\d+"
    r"|data/constants/\w+_constants_config\.json|data/constants/tensor_\d+|data/sample_inputs/\w+\.pt"
    r"|extra/[\w./-]+)")


def export_archive_risk(path: Path) -> str | None:
    """What in a .pt2 archive could run code while loading (pickles, compiled code, odd expressions), or None.

    torch.export.load unpickles some payloads, loads AOTInductor libraries and evaluates symbolic-shape
    expressions with sympy; an archive of tensor data and a graph of torch operators needs none of that.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            if len(archive.namelist()) != len(set(archive.namelist())):
                return "it holds two archive members of the same name"
            for name in archive.namelist():
                inner = name.split("/", 1)[1] if "/" in name else name
                if name.endswith("/") or _EXPORT_SAFE_MEMBER.fullmatch(inner):
                    continue
                return f"it contains {inner}"
            for name in archive.namelist():
                inner = name.split("/", 1)[1] if "/" in name else name
                if inner.endswith("_config.json"):
                    config = json.loads(archive.read(name))
                    if any(entry.get("use_pickle") for entry in config.get("config", {}).values()):
                        return "it stores pickled objects"
                elif inner.startswith("models/"):
                    problem = _export_graph_problem(json.loads(archive.read(name)))
                    if problem:
                        return problem
                elif inner.startswith("data/sample_inputs/"):
                    try:
                        torch.load(io.BytesIO(archive.read(name)), weights_only=True)
                    except Exception:  # any failure here means torch.export.load would fall back to unpickling
                        return "its sample inputs are a full pickle"
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"{path.name} is a corrupt torch.export archive ({first_error_line(exc)})") from exc
    return None


def _export_graph_problem(node: object) -> str | None:
    """Walk the serialized graph: every operator on the allowlist, every shape expression bounded arithmetic."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            target = item.get("target")
            if isinstance(target, str):
                problem = export_target_problem(target)
                if problem:
                    return problem
            expr = item.get("expr_str")
            if isinstance(expr, str):
                problem = expression_problem(expr)
                if problem:
                    return problem
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


class ExportedNetwork(nn.Module):
    """A torch.export program as a module. It was frozen in eval mode when exported: train() is a no-op."""

    def __init__(self, program_module: nn.Module, input_shape: tuple[int | None, ...] | None):
        super().__init__()
        self.program = program_module
        self.fixed_batch = input_shape[0] if input_shape else None

    def train(self, mode: bool = True) -> ExportedNetwork:
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            if self.fixed_batch == 1 and x.shape[0] > 1:
                return torch.cat([self.program(image[None]) for image in x])
            return self.program(x)
        except AssertionError as exc:  # the program's shape guards raise AssertionError
            raise RuntimeError(f"the exported program refuses this input ({first_error_line(exc)})") from exc


def read_export(path: Path, trust_pickle: bool) -> ModelFile:
    risk = export_archive_risk(path)
    if risk and not trust_pickle:
        raise UntrustedModelError(untrusted_code_message(path, "a torch.export archive", risk))
    try:
        program = torch.export.load(str(path))
        module = program.module()
    except Exception as exc:  # the archive reader raises many types on malformed archives
        raise ModelLoadError(f"{path.name} is not a readable torch.export program: {first_error_line(exc)}") from exc
    shape = _export_input_shape(program)
    notes = []
    if shape is not None and shape[2] is not None:
        notes.append(f"a torch.export program fixed to {shape[3]}x{shape[2]} inputs")
    return ModelFile("export", network=ExportedNetwork(module, shape), input_shape=shape, notes=notes)


def _export_input_shape(program) -> tuple[int | None, ...] | None:
    user_inputs = set(program.graph_signature.user_inputs)
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            value = node.meta.get("val")
            if isinstance(value, torch.Tensor) and value.dim() == 4:
                return tuple(d if isinstance(d, int) else None for d in value.shape)
    return None
