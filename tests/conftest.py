"""Shared fixtures. GUI tests run offscreen: the tests set it themselves, before Qt is imported."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# No test reaches a model hub: named models take their weights from the caches or are random, at once.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ADVLENS_OFFLINE"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

# In CI the property tests draw the same examples every run (their edge cases are pinned with
# @example as well), so a submission's CI never turns red on a draw that an earlier one escaped.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from advlens.engine.demo.shapes import eval_seeds, render_batch  # noqa: E402
from advlens.engine.loaders import load_demo_model  # noqa: E402
from advlens.engine.model import Model  # noqa: E402

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def demo_model() -> Model:
    return load_demo_model("cpu")


def demo_images(count: int, size: int, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Held-out demo scenes (never seen in training) and their labels."""
    images, labels = render_batch(eval_seeds(count, offset=offset), size)
    return torch.from_numpy(images), torch.from_numpy(labels)


@pytest.fixture(scope="session")
def demo_set_32() -> tuple[torch.Tensor, torch.Tensor]:
    return demo_images(64, 32)
