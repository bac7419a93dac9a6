"""Networks the benchmarks load into the engine process on purpose: a forward pass that takes seconds.

`advlens bench --gui` saves one as a trusted pickle in a temporary folder and opens it in the window,
to measure that the window stays responsive while the engine loads it (the load-time probe runs a
forward pass) and while a run waits for it. The engine imports this module to unpickle it.
"""

from __future__ import annotations

import time

import torch
from torch import nn


class SlowForward(nn.Module):
    """`inner`, but every forward pass takes at least `seconds` (the engine's thread sleeps meanwhile)."""

    def __init__(self, inner: nn.Module, seconds: float = 5.0):
        super().__init__()
        self.inner = inner
        self.seconds = float(seconds)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.seconds)
        return self.inner(x)
