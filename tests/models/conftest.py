"""Real torchvision, timm and Hugging Face models, random weights, no network: the tests of `make test-models`.

They need torch 2.14.1 + torchvision 0.29.1, timm and transformers (the .venv-models venv); in the main
venv, which has none of them, every module here is skipped. tests/conftest.py already sets
HF_HUB_OFFLINE and ADVLENS_OFFLINE, so nothing here reaches a hub.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from .helpers import photo


@pytest.fixture
def photo_file(tmp_path) -> Path:
    return photo(tmp_path / "photo.png", 300, 200)


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        photo(folder / f"p{i}.png", 240, 160, seed=i + 1)
    return folder


@pytest.fixture(autouse=True)
def _two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)
