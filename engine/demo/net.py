"""The demo classifier: a small resolution-agnostic CNN (stride-2 stages, GroupNorm, global pooling).

Global average pooling lets it accept any input size, so the Resolution lab can show it each
resolution natively instead of behind a resize layer.
"""

from __future__ import annotations

import torch
from torch import nn

DEFAULT_WIDTHS: tuple[int, ...] = (16, 24, 32, 48, 64, 96)


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.GroupNorm(min(8, cout // 4), cout),
        nn.ReLU(inplace=True),
    )


class ShapesNet(nn.Module):
    """A stem at full resolution, then stride-2 stages of two 3x3 convs each, then pooling."""

    def __init__(self, num_classes: int = 10, widths: tuple[int, ...] = DEFAULT_WIDTHS):
        super().__init__()
        layers: list[nn.Module] = [_conv(3, widths[0], 1)]
        cin = widths[0]
        for w in widths[1:]:
            layers += [_conv(cin, w, 2), _conv(w, w, 1)]
            cin = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(cin, num_classes)
        self.widths = tuple(widths)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.pool(self.features(x)), 1))


def receptive_field(widths: tuple[int, ...] = DEFAULT_WIDTHS) -> int:
    """Receptive field in input pixels of one output unit before pooling."""
    rf, jump = 3, 1  # stem
    for _ in widths[1:]:
        rf += 2 * jump
        jump *= 2
        rf += 2 * jump
    return rf
