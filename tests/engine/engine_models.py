"""Misbehaving networks for the engine-process tests, saved as trusted pickles (the engine imports this
module to load them). Each behaves until it sees one particular input size, so loading and its
probe succeed and the test chooses when the trouble starts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from torch import nn

ABORT_SIZE = 17  # AbortNet calls os.abort() on images of this size, once an attack asks for gradients
HANG_SIZE = 19  # HangNet's forward never returns on images of this size, once an attack asks for gradients


def _attacking(x: torch.Tensor) -> bool:
    """An attack step (gradients of the input wanted), not a clean prediction or the load-time probe."""
    return torch.is_grad_enabled() and x.requires_grad


class AbortNet(nn.Module):
    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == ABORT_SIZE and _attacking(x):
            os.abort()
        return self.inner(x)


class HangNet(nn.Module):
    """A forward pass that does not return (it sleeps far longer than any test waits); it writes
    `folder/hanging` first, so a test knows the engine is inside it."""

    def __init__(self, inner: nn.Module, folder: str):
        super().__init__()
        self.inner = inner
        self.folder = str(folder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == HANG_SIZE and _attacking(x):
            (Path(self.folder) / "hanging").write_text("1")
            time.sleep(3600)
        return self.inner(x)


class HoldNet(nn.Module):
    """Once `arm` exists, holds its next forward pass (writing `holding`) until `release` exists:
    a test can then act while the engine is known to be inside a step, with no timing assumed."""

    def __init__(self, inner: nn.Module, folder: str):
        super().__init__()
        self.inner = inner
        self.folder = str(folder)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        folder = Path(self.folder)
        if (folder / "arm").exists() and not (folder / "holding").exists():
            (folder / "holding").write_text("1")
            while not (folder / "release").exists():
                time.sleep(0.005)
        return self.inner(x)


def save_trusted(network: nn.Module, path: Path, labels: list[str], mean, std) -> Path:
    """A full pickle of `network` plus its card (the engine loads it only with trust)."""
    import json

    torch.save(network, path)
    path.with_suffix(".json").write_text(json.dumps({"name": path.stem, "labels": list(labels),
                                                     "mean": list(mean), "std": list(std)}))
    return path


FAIL_SIZE = 23  # FailAtSize raises on its fourth forward pass at this size


class FailAtSize(nn.Module):
    """Works for the clean check and the first steps at FAIL_SIZE, then raises like CUDA out of memory."""

    def __init__(self, inner: nn.Module, message: str = "CUDA out of memory. Tried to allocate 20.00 GiB"):
        super().__init__()
        self.inner = inner
        self.message = message
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == FAIL_SIZE:
            self.calls += 1
            if self.calls > 3:
                raise RuntimeError(self.message)
        return self.inner(x)
