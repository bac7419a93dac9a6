"""Ground truth for the Resolution lab: hand-built models whose slopes are known, run through the whole
lab (images on disk, the near-minimal attack, paired slopes, the joint verdict). Each must be recovered
within its interval and named by the verdict; a wrong prediction table or slope fit would fail here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from advlens.engine.demo.shapes import eval_seeds, render_batch
from advlens.engine.labs.readings import GROUPS, TOLERANCE
from advlens.engine.labs.resolution import ResolutionLabConfig, run_resolution_lab
from advlens.engine.labs.stability_training import torch_threads
from advlens.engine.model import Model, ModelCard


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on the shared 2-core machine two threads mostly wait for each other."""
    with torch_threads(1):
        yield


SIZES = [16, 32, 64, 128]


class PooledReadout(nn.Module):
    """A linear read-out of the image area-averaged to 8 x 8: the same function of the continuous scene
    at every side length that is a multiple of 8 (the scale-consistent null reading, exactly)."""

    def __init__(self, classes: int = 10, grid: int = 8):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.weight = nn.Parameter(torch.randn(classes, 3 * grid * grid, generator=g))
        self.grid = grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x, self.grid).flatten(1) @ self.weight.T


class SpreadGradient(nn.Module):
    """Two classes, logit gap z = 0.5 + 0.2 * mean(red) + 2 r.x / sqrt(n) with r = +-1, half of each sign in
    every channel: on flat images r.x = 0, so z is the same at every size, while the gradient is spread
    evenly over the pixels with ‖∇z‖₂ = 2 (almost exactly) and ‖∇z‖₁ = 2 sqrt(n): Simon-Gabriel et al.'s
    first-order picture (minimal L2 fixed, minimal Linf like 1/s)."""

    def __init__(self):
        super().__init__()
        self.signs: dict[tuple[int, int], torch.Tensor] = {}

    def _signs(self, h: int, w: int) -> torch.Tensor:
        if (h, w) not in self.signs:
            g = torch.Generator().manual_seed(h * 1000 + w)
            per_channel = [torch.cat([torch.ones(h * w // 2), -torch.ones(h * w - h * w // 2)])[torch.randperm(
                h * w, generator=g)] for _ in range(3)]
            self.signs[(h, w)] = torch.stack(per_channel).reshape(3, h, w)
        return self.signs[(h, w)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self._signs(x.shape[-2], x.shape[-1]).to(x)
        n = x[0].numel()
        z = 0.5 + 0.2 * x[:, 0].mean(dim=(1, 2)) + 2 * (x * r).sum(dim=(1, 2, 3)) / n ** 0.5
        return torch.stack([z / 2, -z / 2], dim=1)


def _model(network: nn.Module, classes: int) -> Model:
    return Model(network, ModelCard(name=type(network).__name__, labels=[f"c{i}" for i in range(classes)]))


def _write(folder, images: np.ndarray) -> None:
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray((image.transpose(1, 2, 0) * 255).round().astype(np.uint8)).save(folder / f"{i:02d}.png")


def _run(folder, model: Model):
    # DeepFool: exact on a linear model up to its 2% overshoot (a constant factor, so no slope changes).
    # FMN lands on a linear model's boundary from the clean side and stays there, so every L2 search
    # "fails" at the right norm: censored, which leaves the slope unbounded.
    config = ResolutionLabConfig(images=str(folder), resolutions=SIZES, attack="deepfool", steps=50,
                                 bootstrap=300, convergence_images=4, device="cpu")
    return run_resolution_lab(config, model=model)


def _recovered(result, expected: dict[str, float]) -> None:
    for metric, slope in expected.items():
        fit = result.fits[metric]
        assert fit.contains(slope, TOLERANCE), f"{metric}: {fit.slope:+.3f} [{fit.low:+.3f}, {fit.high:+.3f}]"
        assert abs(fit.slope - slope) < 0.1, f"{metric}: {fit.slope:+.3f}, expected {slope:+g}"


@pytest.fixture(scope="module")
def scale_consistent(tmp_path_factory):
    folder = tmp_path_factory.mktemp("null") / "scenes"
    _write(folder, render_batch(eval_seeds(8, offset=3000), 256)[0])
    return _run(folder, _model(PooledReadout(), 10))


def test_a_scale_consistent_model_gives_the_null_slopes_and_verdict(scale_consistent):
    r = scale_consistent
    _recovered(r, {"l2": 1.0, "rms": 0.0, "rel_l2": 0.0, "linf": 0.0, "grad_l1": 0.0, "grad_l2": -1.0,
                   "margin_grad_l1": 0.0, "margin_grad_l2": -1.0})
    assert r.joint.supported_groups == ["the scale-consistent null"] and r.joint.outcome == "group"
    assert r.verdicts[0].startswith("The data support the scale-consistent null")
    assert r.prediction_changes == 0.0  # the same function at every size: no prediction changes
    assert r.censored_counts() == {"l2": 0, "linf": 0}
    assert {c.resolution for c in r.convergence} == {16, 128} and all(c.converged for c in r.convergence)


@pytest.fixture(scope="module")
def first_order(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spread") / "flat"
    colours = np.random.default_rng(0).uniform(0.3, 0.7, (8, 3, 1, 1))
    _write(folder, np.broadcast_to(colours, (8, 3, 256, 256)))
    return _run(folder, _model(SpreadGradient(), 2))


def test_a_model_with_an_evenly_spread_gradient_gives_the_first_order_slopes(first_order):
    r = first_order
    _recovered(r, {"l2": 0.0, "rms": -1.0, "linf": -1.0, "grad_l1": 1.0, "grad_l2": 0.0, "margin_grad_l1": 1.0,
                   "first_order_l2": 0.0, "first_order_linf": -1.0})
    assert r.joint.supported_groups == ["Dube A or Simon-Gabriel"]
    assert set(r.joint.supported_readings) == set(GROUPS["Dube A or Simon-Gabriel"])
    assert "scale-consistent (null)" not in r.joint.supported_readings


def test_the_two_ground_truths_are_told_apart(scale_consistent, first_order):
    """The same lab, two models: the raw-L2 intervals do not even overlap."""
    a, b = scale_consistent.fits["l2"], first_order.fits["l2"]
    assert a.low > b.high
