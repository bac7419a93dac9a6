"""The load-time test: one input through a freshly built model, so a model that cannot work fails at load time.

A model that fails here gets one message naming the input it was given, instead of failing in the
middle of a run.
"""

from __future__ import annotations

import torch

from ..errors import ModelOutputError, first_error_line
from ..model import Model
from .formats import PROBE_SIZE


def probe(model: Model) -> None:
    """One test image through the model: it must run and give one logit vector per image."""
    size = model.input_size or PROBE_SIZE
    x = torch.full((1, model.input_channels, size, size), 0.5, device=model.device)
    try:
        with torch.no_grad():
            logits = model.checked_logits(x)
    except ModelOutputError as exc:
        cause = exc.__cause__
        if cause is None:
            raise
        hint = "" if model.input_size else "; if it needs a fixed size, set input_size in its model card"
        raise ModelOutputError(f"{model.card.display_name} fails on a {size}x{size} test image with "
                               f"{model.input_channels} channel(s): {first_error_line(cause)}{hint}") from cause
    if not bool(torch.isfinite(logits).all()):
        raise ModelOutputError(f"{model.card.display_name} returns NaN or infinite logits on a {size}x{size} grey test "
                               f"image: check its weights and its card's mean and std")
