"""Two deliberately broken copies of the demo network, for teaching attack diagnostics.

Both use the bundled demo weights unchanged (no training) and classify as well as the demo; what they
break is the attacker's view of them, in the two ways many published defences did by accident:

- `QuantizedShapesNet` rounds its input to a few grey levels first (bit-depth reduction, as in
  feature squeezing). Rounding has a zero derivative almost everywhere, so every input gradient is
  exactly zero and gradient attacks stand still, while a gradient-free attack (Square) still fools it.
- `SaturatedShapesNet` multiplies its logits by a large temperature. Predictions do not change, but
  the softmax saturates: the cross-entropy is exactly 0.0 in float32 with a zero gradient, so PGD on the
  cross-entropy stands still, while the scale-free DLR loss (APGD-DLR) or a margin loss still works.

The Diagnostics indicators name both failures, and their suggested fixes are what these models
teach. Nothing here is a defence.
"""

from __future__ import annotations

import torch

from .net import DEFAULT_WIDTHS, ShapesNet

TEACHING_ROLE = "diagnostics-teaching"  # the "role" on their cards: broken on purpose, never a real model


class QuantizedShapesNet(ShapesNet):
    """The demo network behind a rounding of each input value to `levels` levels in [0, 1].

    It takes raw [0, 1] pixels (its card has mean 0, std 1) and normalises after rounding itself.
    """

    def __init__(self, num_classes: int = 10, widths: tuple[int, ...] = DEFAULT_WIDTHS, levels: int = 16,
                 mean: tuple[float, ...] = (0.5, 0.5, 0.5), std: tuple[float, ...] = (0.5, 0.5, 0.5)):
        super().__init__(num_classes, widths)
        if int(levels) < 2:
            raise ValueError(f"levels must be at least 2, got {levels}")
        self.levels = int(levels)
        self.register_buffer("input_mean", torch.tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1),
                             persistent=False)
        self.register_buffer("input_std", torch.tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = self.levels - 1
        quantized = torch.round(x.clamp(0, 1) * steps) / steps  # d/dx round = 0: the gradient is masked
        return super().forward((quantized - self.input_mean) / self.input_std)


class SaturatedShapesNet(ShapesNet):
    """The demo network with its logits multiplied by `logit_scale` (a saturated softmax)."""

    def __init__(self, num_classes: int = 10, widths: tuple[int, ...] = DEFAULT_WIDTHS,
                 logit_scale: float = 1000.0):
        super().__init__(num_classes, widths)
        self.logit_scale = float(logit_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * self.logit_scale
