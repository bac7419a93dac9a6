"""What a model sees: an image fitted to the model's input size the way its own preprocessing does.

Every command and tab that feeds a model (attack, sweep, analyze, runs replay, the Explorer's preview and
the Analysis tab) asks `input_fit` once and applies the answer, so the size, the crop and the filter
are the same wherever a model is used, and the notes say so once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .config import FILTERS, FITS
from .errors import ConfigError
from .images import check_filter, fit_image
from .model import Model


@dataclass(frozen=True)
class InputFit:
    """How images are fitted for one model: the side length (None: left as they are) and the method."""

    size: int | None
    fit: str = "squash"  # crop | squash | pad
    filter: str = "area"
    crop_pct: float | None = None
    fill: tuple[float, ...] | None = None
    notes: list[str] = field(default_factory=list)  # what a person should know (said once)
    photo_notes: list[str] = field(default_factory=list)  # said too when a photo (not a drawn scene) is fitted

    def apply(self, image: torch.Tensor) -> torch.Tensor:
        """(C, H, W) or (N, C, H, W) in [0, 1] fitted to size x size; an image already at that size (or any
        image when size is None) is left as it is, so fitting twice changes nothing."""
        if self.size is None or tuple(image.shape[-2:]) == (self.size, self.size):
            return image
        fill = self.fill if self.fill is not None and len(self.fill) == image.shape[-3] else None
        return fit_image(image, self.size, self.fit, self.filter, self.crop_pct, fill)


def fitted_image(spec: str, fitting: InputFit, filter: str = "area", notes: list[str] | None = None) -> torch.Tensor:
    """The image a spec names, as the model sees it: a sample drawn natively at the size, a file read and
    fitted (its photo notes added to `notes`)."""
    from .images import load_image
    from .samples import SAMPLE_PREFIX, resolve_image

    if str(spec).startswith(SAMPLE_PREFIX):
        return resolve_image(spec, fitting.size, filter)
    if notes is not None:
        notes.extend(fitting.photo_notes)
    return fitting.apply(load_image(spec))


def input_fit(model: Model, resolution: int | None, filter: str = "area", fit: str = "auto") -> InputFit:
    """The size and method for `model`: its own input size where it has one (else `resolution`), and
    with fit 'auto' its own resize-then-centre-crop (card crop_pct and interpolation) where it has one."""
    check_filter(filter)
    if fit not in FITS:
        raise ConfigError(f"unknown fit '{fit}': choose one of {', '.join(FITS)}")
    card = model.card
    notes: list[str] = []
    size = resolution
    if card.input_size is not None and resolution != card.input_size:
        size = int(card.input_size)
        if model.fixed_input_size is None:
            notes.append(f"{card.display_name} was trained at {size}x{size} (it takes any size): the images are "
                         f"drawn at that size")
        else:
            notes.append(f"{card.display_name} takes {size}x{size} images: the images are drawn at that size")
    method = fit
    if method == "auto":
        method = "crop" if card.crop_pct is not None and card.input_size is not None else "squash"
    resize_filter = filter
    if method == "crop" and card.interpolation:
        resize_filter = card.interpolation if card.interpolation in FILTERS else filter
    photo_notes = []
    if size is not None and method == "crop" and card.crop_pct is not None:
        photo_notes.append(f"photos are resized ({resize_filter}) so the short side is {int(size / card.crop_pct)} px and "
                     f"the centre {size}x{size} is cut out, as {card.display_name}'s own preprocessing does "
                     f"(crop_pct {card.crop_pct:g}; --fit squash or pad to change)")
    fill = tuple(float(v) for v in card.mean) if method == "pad" else None
    return InputFit(size, method, resize_filter, card.crop_pct if method == "crop" else None, fill, notes,
                    photo_notes)

