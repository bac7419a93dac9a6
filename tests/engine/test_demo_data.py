import numpy as np
import torch

from advlens.engine.demo.net import ShapesNet, receptive_field
from advlens.engine.demo.shapes import CLASSES, EVAL_SEED_BASE, random_scene, render_array, render_batch
from advlens.engine.images import resample
from advlens.engine.loaders import bundled_models


def test_a_scene_is_the_same_picture_at_every_resolution():
    scene = random_scene(123)
    fine = torch.from_numpy(render_array(scene, 128).transpose(2, 0, 1).copy())
    coarse = torch.from_numpy(render_array(scene, 32).transpose(2, 0, 1).copy())
    assert (resample(fine, 32, "area") - coarse).abs().mean() < 0.03


def test_rendering_is_deterministic_and_labels_are_balanced():
    a, la = render_batch(list(range(50)), 16)
    b, lb = render_batch(list(range(50)), 16)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
    _, labels = render_batch(list(range(2000)), 8)
    counts = np.bincount(labels, minlength=len(CLASSES))
    assert counts.min() > 150


def test_the_network_accepts_any_resolution():
    net = ShapesNet()
    for size in (16, 37, 96):
        assert net(torch.rand(2, 3, size, size)).shape == (2, 10)
    assert receptive_field() > 128


def test_bundled_demo_card_reports_accuracy_and_is_good_enough():
    (demo,) = [m for m in bundled_models() if m.name == "shapes-cnn"]
    acc = demo.card.clean_accuracy
    for size in ("32", "64", "128"):
        assert acc[size] >= 0.95, f"demo model clean accuracy at {size}px is {acc[size]:.1%}"
    assert demo.weights.stat().st_size < 5_000_000
    assert EVAL_SEED_BASE > 0
