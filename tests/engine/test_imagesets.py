"""One image-set source for every sweep, analysis and lab: demo:N, sample:NAME, a folder, a list file."""

import numpy as np
import pytest
import torch

from advlens.engine.analysis import AnalysisRequest, default_attack
from advlens.engine.config import AttackConfig
from advlens.engine.errors import ConfigError
from advlens.engine.images import save_png
from advlens.engine.imagesets import ImageSource, load_image_set, parse_image_source


def _write_images(folder, names):
    folder.mkdir(exist_ok=True)
    g = torch.Generator().manual_seed(0)
    for name in names:
        save_png(torch.rand(3, 20, 30, generator=g), folder / name)


def test_demo_scenes_are_the_same_scenes_at_every_size():
    small, large = load_image_set("demo:3", 16), load_image_set("demo:3", 48)
    assert small.images.shape == (3, 3, 16, 16) and large.images.shape == (3, 3, 48, 48)
    assert torch.equal(small.labels, large.labels) and small.names == large.names
    shifted = load_image_set("demo:3", 16, offset=2000)
    assert shifted.names[0] == "demo:2000" and not torch.equal(shifted.images, small.images)


def test_a_sample_is_one_labelled_image():
    data = load_image_set("sample:star", 24)
    assert data.images.shape == (1, 3, 24, 24) and data.labelled and data.names == ["sample:star"]


def test_folder_and_list_give_the_same_files_and_skip_unreadable_ones(tmp_path):
    _write_images(tmp_path / "photos", ["b.png", "a.png", "c.png"])
    (tmp_path / "photos" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "photos" / ".hidden.png").write_bytes(b"x")
    folder = load_image_set(str(tmp_path / "photos"), 32)
    assert folder.names == ["a.png", "b.png", "c.png"] and folder.skipped == ["broken.png"]
    assert not folder.labelled and folder.images.shape == (3, 3, 32, 32)
    listing = tmp_path / "set.txt"
    listing.write_text("# my set\nphotos/c.png\n\nphotos/a.png\n")
    listed = load_image_set(str(listing), 32)
    assert listed.names == ["c.png", "a.png"]
    assert torch.equal(listed.images[1], folder.images[0])
    assert ImageSource(str(tmp_path / "photos"), limit=2).files()[-1].name == "b.png"


@pytest.mark.parametrize("spec", ["demo:x", "demo:0", "nowhere/at/all", "sample:unicorn"])
def test_bad_specs_are_one_clear_error(spec):
    with pytest.raises(ConfigError):
        parse_image_source(spec).load(16)


def test_an_analysis_request_round_trips_and_fits_its_attack_to_the_kind():
    request = AnalysisRequest("minimal", images="demo:4", attack=AttackConfig(attack="pgd", seed=3))
    checked = request.checked()
    assert checked.attack.attack == default_attack("minimal").attack and checked.attack.seed == 3
    assert AnalysisRequest.from_dict(request.to_dict()) == request
    landscape = AnalysisRequest("landscape", attack=AttackConfig(attack="fmn", norm="linf"),
                                pixels=np.zeros((3, 8, 8), np.float32)).checked()
    assert landscape.attack.norm == "l2" and "pixels" not in landscape.to_dict()
    budgeted = AnalysisRequest("noise", attack=AttackConfig(attack="deepfool", norm="l2", eps=0.0)).checked()
    assert budgeted.attack.attack == "pgd" and budgeted.attack.eps == pytest.approx(8 / 255)
    with pytest.raises(ConfigError):
        AnalysisRequest("histogram").checked()
    with pytest.raises(ConfigError):
        AnalysisRequest.from_dict({"kind": "sweep", "colour": "red"})
