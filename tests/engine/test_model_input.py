"""What a model sees (engine/model_input.py, images.fit_image) and what it says about itself, with stand-in
networks: the real torchvision/timm/transformers models are tested in tests/models (make test-models)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from advlens.engine import RunConfig, prepare_job
from advlens.engine.errors import ConfigError
from advlens.engine.images import fit_image
from advlens.engine.loaders.source import output_notes
from advlens.engine.model import Model, ModelCard, logits_of
from advlens.engine.model_input import input_fit
from advlens.engine.session import default_label, execute


def _model(network: nn.Module | None = None, **card) -> Model:
    network = network or nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    return Model(network, ModelCard(name="m", labels=["a", "b", "c"], **card))


def test_crop_resizes_the_short_side_then_cuts_the_centre():
    image = torch.zeros(3, 100, 200)
    image[:, :, 50:150] = 1.0  # a bright centre band, 100 px wide, dark sides
    out = fit_image(image, 50, "crop", "area", crop_pct=1.0)
    assert out.shape == (3, 50, 50) and out.min() > 0.99  # only the centre is kept
    squashed = fit_image(image, 50, "squash", "area")
    assert squashed.shape == (3, 50, 50) and squashed[:, :, :5].max() < 0.01  # the dark sides survive, squeezed
    padded = fit_image(image, 50, "pad", "bilinear", fill=(0.25, 0.5, 0.75))
    assert padded.shape == (3, 50, 50) and padded[:, :10].tolist() == padded[:, -10:].tolist()
    assert torch.allclose(padded[:, 0, 0], torch.tensor([0.25, 0.5, 0.75]))
    with pytest.raises(ConfigError, match="unknown fit"):
        fit_image(image, 50, "stretch")


def test_crop_pct_below_one_crops_a_square_image_too():
    image = torch.rand(3, 64, 64)
    out = fit_image(image, 56, "crop", "bilinear", crop_pct=0.875)  # 64 -> 64, centre 56
    assert out.shape == (3, 56, 56) and torch.allclose(out, image[:, 4:60, 4:60], atol=1e-6)


def test_the_models_crop_is_the_default_and_every_fit_is_a_choice():
    model = _model(input_size=32, crop_pct=0.875, interpolation="bicubic")
    auto = input_fit(model, 64)
    assert (auto.size, auto.fit, auto.filter, auto.crop_pct) == (32, "crop", "bicubic", 0.875)
    assert "takes 32x32 images" in auto.notes[0] and "centre 32x32 is cut out" in auto.photo_notes[0]
    assert input_fit(model, 64, fit="squash").fit == "squash"
    assert input_fit(_model(input_size=32), 64).fit == "squash"  # a card without a crop squashes, as before
    assert input_fit(_model(), 48).size == 48 and input_fit(_model(), 48).notes == []
    any_size = _model(input_size=32, accepts_any_size=True)
    assert any_size.fixed_input_size is None and "it takes any size" in input_fit(any_size, 64).notes[0]


def test_prepare_job_fits_a_photo_as_the_model_does_and_says_whose_prediction_is_the_label(tmp_path):
    from PIL import Image

    path = tmp_path / "wide.png"
    Image.new("RGB", (90, 30), (200, 10, 10)).save(path)
    model = _model(input_size=24, crop_pct=0.9)
    job = prepare_job(RunConfig(image=str(path), resolution=64), model=model)
    assert job.images.shape == (1, 3, 24, 24) and job.config.resolution == 24
    assert any("cut out" in n for n in job.notes) and any("own clean prediction" in n for n in job.notes)
    record = execute(job)
    assert set(record.norms) == {"l0", "l1", "l2", "linf"}
    assert record.norms["l1"][0] >= record.norms["l2"][0]


def test_a_sample_keeps_its_label_only_for_a_model_that_has_its_class():
    assert default_label("sample:star") is not None
    assert default_label("sample:star", ["tench", "goldfish"]) is None
    assert default_label("sample:star", ["x", "star"]) == 1
    assert default_label("photo.png", ["star"]) is None


def test_outputs_carrying_logits_are_unwrapped():
    class Output(dict):
        pass

    logits = torch.ones(2, 3)
    assert logits_of(Output(logits=logits)) is logits
    assert logits_of({"logits": logits}) is logits
    assert logits_of(type("O", (), {"logits": logits})()) is logits
    assert logits_of((logits,)) == (logits,)  # anything else is left for the checks to judge


class ZeroHead(nn.Module):
    """A classifier head of zeros (torchvision's fresh vit_b_16): every score ties for every input."""

    def forward(self, x):
        return (0.0 * x.mean(dim=(1, 2, 3)))[:, None].expand(-1, 3)


class AlmostConstant(nn.Module):
    """Scores that depend on the input by 1e-9: random weights whose signal faded."""

    def forward(self, x):
        return torch.tensor([[0.0, 0.5, 0.2]]) + 1e-9 * x.mean(dim=(1, 2, 3))[:, None]


def test_constant_outputs_are_noted_and_the_prediction_shown_is_the_criterions():
    model = _model(ZeroHead())
    assert "outputs are constant" in output_notes(model)[0]
    assert "nearly constant" in output_notes(_model(AlmostConstant()))[0]
    assert output_notes(_model()) == []
    record = execute(prepare_job(RunConfig(image="sample:star", resolution=16, attack=_fgsm()), model=model, label=2))
    assert record.clean_pred == [0] and record.adv_pred == [0] and record.success == [True]  # 0 != label 2


def _fgsm():
    from advlens.engine.config import AttackConfig

    return AttackConfig(attack="fgsm")
