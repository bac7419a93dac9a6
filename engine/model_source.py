"""Where a loaded model came from, as plain data, and the wrapper the engine may put around it.

A cluster's workers rebuild a model from its `ModelSource` (`cluster.worker_model` loads it through the
loaders and applies `wrap`); nothing here imports the loaders, so the model, its source and the loaders
form no import circle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from .model import Model, ModelCard


@dataclass(frozen=True)
class ModelSource:
    """Where a loaded model came from, as plain data: what a cluster worker needs to load it again.

    A cluster's workers load a model once each from its source (and keep it) instead of receiving the
    weights with every job; a file `spec` must therefore be reachable at the same path on the workers.
    `wrap` names a wrapper the engine put around it ('resize': the Resolution lab's `ResizedModel`).
    """

    spec: str
    card: str | ModelCard | None = None  # an explicit card file or card; None: the one beside the file
    trust_pickle: bool = False
    onnx_runtime: bool = False
    wrap: str = ""

    def cache_key(self, device: str) -> str:
        card = self.card.to_dict() if isinstance(self.card, ModelCard) else self.card
        return json.dumps([self.spec, card, self.trust_pickle, self.onnx_runtime, self.wrap, device], default=str)


class ResizedModel(Model):
    """A fixed-size model behind a resize, so it accepts every resolution (the Resolution lab says so).

    It lives here, below the labs, so that a cluster worker rebuilds it without importing them."""

    def __init__(self, inner: Model):
        super().__init__(inner.network, inner.card)
        self.size = int(inner.card.input_size)
        self.card = inner.card
        if inner.source is not None:  # a cluster worker loads the inner model and wraps it the same way
            self.source = replace(inner.source, wrap="resize")
        self.to(inner.device)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[-1] != self.size or images.shape[-2] != self.size:
            images = F.interpolate(images, size=(self.size, self.size), mode="bilinear", align_corners=False,
                                   antialias=True)
        return super().forward(images)

    def checked_logits(self, images: torch.Tensor) -> torch.Tensor:
        return self(images)
