"""What the Resolution lab attacks: the same scenes at every size, the models as they see each size,
and the clean measurements (gradient norms, first-order estimates) taken before any attack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..criteria import Misclassification
from ..demo.shapes import eval_seeds, render_batch
from ..errors import ConfigError, ImageLoadError
from ..images import IMAGE_SUFFIXES, load_image, resample
from ..loaders import load_model
from ..model import Model
from ..model_source import ResizedModel
from ..norms import lp_norm
from ..samples import SAMPLE_PREFIX, load_sample, sample_label
from .resolution_config import ResolutionLabConfig


@dataclass
class Scenes:
    """Names, a renderer (size -> (N, 3, s, s) in [0, 1]) and the known labels (None: photos, unlabelled)."""

    names: list[str]
    render: Callable[[int], torch.Tensor]
    labels: torch.Tensor | None


def load_scenes(config: ResolutionLabConfig) -> Scenes:
    """The configured image set: demo scenes drawn natively at each size, a bundled sample, or a folder of
    photos area-downsampled from the originals (nearest-neighbour upsampling of the smallest size is the
    labelled control condition)."""
    spec = config.images
    if spec.startswith("demo:"):
        try:
            count = int(spec.split(":", 1)[1])
        except ValueError as exc:
            raise ConfigError(f"expected demo:N, got '{spec}'") from exc
        seeds = eval_seeds(count, offset=2000)
        labels = torch.from_numpy(render_batch(seeds[:count], 8)[1])
        scenes = Scenes([f"demo:{s}" for s in seeds], lambda size: torch.from_numpy(render_batch(seeds, size)[0]),
                        labels)
    elif spec.startswith(SAMPLE_PREFIX):
        name = spec[len(SAMPLE_PREFIX):]
        scenes = Scenes([spec], lambda size: load_sample(name, size)[None], torch.tensor([sample_label(name)]))
    else:
        folder = Path(spec)
        if not folder.is_dir():
            raise ConfigError(f"images must be demo:N, sample:NAME or a folder; '{spec}' is none of these")
        originals, names = [], []
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            try:
                originals.append(load_image(path))
                names.append(path.name)
            except ImageLoadError:
                continue
        if not originals:
            raise ConfigError(f"no readable images in {folder}")
        scenes = Scenes(names, lambda size: torch.stack([resample(im, size, "area") for im in originals]), None)
    if config.condition == "nearest-upsampled":
        base = scenes.render(config.resolutions[0])
        scenes.render = lambda size: (F.interpolate(base, size=(size, size), mode="nearest-exact")
                                      if size != base.shape[-1] else base)
    return scenes


def seen_at(model: Model, size: int | None = None) -> tuple[Model, str]:
    """The model as the lab runs it at `size` (None: at every size): behind a resize (mode 'resize') when
    its input size is fixed and differs, else as it is ('native')."""
    if model.fixed_input_size is None or model.fixed_input_size == size:
        return model, "native"
    return ResizedModel(model), "resize"


def load_control_models(config: ResolutionLabConfig) -> tuple[dict[int, list[Model]], list[int]]:
    """{size: [models trained at it, by seed]} for the configured resolutions that have any, and the sizes
    that have none (skipped). A model named at several sizes is loaded once."""
    loaded: dict[str, Model] = {}
    by_size: dict[int, list[Model]] = {}
    for size in config.resolutions:
        for spec in config.models.get(size, []):
            if spec not in loaded:
                loaded[spec] = load_model(spec, config.device)
            by_size.setdefault(size, []).append(loaded[spec])
    return by_size, [s for s in config.resolutions if s not in by_size]


def predictions(model: Model, x: torch.Tensor, batch: int) -> torch.Tensor:
    """Clean predicted classes, batch by batch, on the model's device (returned on the CPU)."""
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch].to(model.device)).argmax(1).cpu() for i in range(0, len(x), batch)])


def clean_gradients(model: Model, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per image, from one forward: the cross-entropy's input-gradient norms (Simon-Gabriel et al.'s
    measure), the logit gap's (the margin's) input-gradient norms, and the first-order minimal
    perturbations margin / ‖∇ margin‖_q (q the dual norm). The cross-entropy's gradient carries a factor
    (1 - p) of the model's confidence, which changes with the size on its own; the margin's does not."""
    xr = x.detach().requires_grad_(True)
    criterion = Misclassification(y)
    with torch.enable_grad():
        logits = model(xr)
        (ce_grad,) = torch.autograd.grad(criterion.loss(logits).sum(), xr, retain_graph=True)
        margin = criterion.margin(logits)
        (margin_grad,) = torch.autograd.grad(margin.sum(), xr)
    margin = margin.detach()
    return {
        "grad_l1": lp_norm(ce_grad, "l1"), "grad_l2": lp_norm(ce_grad, "l2"),
        "margin_grad_l1": lp_norm(margin_grad, "l1"), "margin_grad_l2": lp_norm(margin_grad, "l2"),
        "first_order_l2": margin / lp_norm(margin_grad, "l2").clamp_min(1e-12),
        "first_order_linf": margin / lp_norm(margin_grad, "l1").clamp_min(1e-12),
    }
