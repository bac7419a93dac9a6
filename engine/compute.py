"""How a run computes, beside what it attacks: the model's autocast precision and memory format.

Both are for batches on a GPU (`../shared/PERFORMANCE.md`: bf16 + channels_last made ResNet-18 at
batch 64 1.31x faster on an H100, and batch 1 1.35x slower). They wrap the model, so every attack gets
them without knowing: the forward runs under `torch.autocast` and hands float32 logits back, and the
images enter in channels_last. The fast mode (one step captured and replayed) is the attack's own:
see `attacks/fast.py`.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .config import PRECISIONS, RunConfig
from .errors import ConfigError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_compute(config: RunConfig, device: torch.device) -> list[str]:
    """ConfigError for a precision the device cannot run; notes for settings that will not pay off here."""
    precision = config.precision
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    notes = []
    if device.type == "cuda" and precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ConfigError(f"bf16 needs a GPU that supports it; {torch.cuda.get_device_name(device)} does not: "
                          f"use fp16 or fp32")
    if device.type == "mps" and precision == "bf16":
        raise ConfigError("bf16 autocast is not available on Apple GPUs (MPS): use fp16 or fp32")
    if device.type == "cpu" and (precision != "fp32" or config.channels_last):
        notes.append("bf16/fp16 and channels_last are meant for batches on a GPU; on the CPU they are usually slower")
    return notes


class ComputeModel(nn.Module):
    """A model run under autocast and/or in channels_last, returning float32 logits like the model."""

    def __init__(self, model: nn.Module, precision: str = "fp32", channels_last: bool = False):
        super().__init__()
        self.model = model
        self.dtype = AUTOCAST_DTYPES.get(precision)
        self.channels_last = channels_last

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last and images.dim() == 4:
            images = images.contiguous(memory_format=torch.channels_last)
        if self.dtype is None:
            return self.model(images)
        with torch.autocast(device_type=images.device.type, dtype=self.dtype):
            logits = self.model(images)
        return logits.float()


def compute_model(model: nn.Module, config: RunConfig) -> nn.Module:
    """The model as the run's settings compute it: itself in fp32 NCHW, else a `ComputeModel`.

    channels_last converts a copy of the weights, so the caller's model (the GUI's, shared by every
    run) keeps its memory format.
    """
    if config.precision == "fp32" and not config.channels_last:
        return model
    if config.channels_last:
        model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    return ComputeModel(model, config.precision, config.channels_last).eval()
