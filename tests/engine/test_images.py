import io

import numpy as np
import pytest
import torch
from PIL import Image

from advlens.engine.errors import ConfigError, ImageLoadError
from advlens.engine.images import FILTERS, load_image, resample, save_png


def _png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "RGBA", "LA", "I;16", "1", "CMYK"])
def test_every_common_mode_loads_as_rgb_in_unit_range(mode, tmp_path):
    rng = np.random.default_rng(0)
    base = Image.fromarray(rng.integers(0, 256, (12, 9, 3), dtype=np.uint8), "RGB")
    image = base.convert(mode) if mode != "I;16" else Image.fromarray(
        rng.integers(0, 65536, (12, 9), dtype=np.uint16))
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    path = tmp_path / f"img.{fmt.lower()}"
    path.write_bytes(_png_bytes(image, fmt))
    tensor = load_image(path)
    assert tensor.shape == (3, 12, 9) and tensor.dtype == torch.float32
    assert 0 <= tensor.min() and tensor.max() <= 1


def test_sixteen_bit_keeps_its_range():
    array = np.full((4, 4), 65535, np.uint16)
    array[0, 0] = 0
    tensor = load_image(_png_bytes(Image.fromarray(array)))
    assert tensor.max() == 1.0 and tensor.min() == 0.0


def test_transparent_pixels_become_the_white_background():
    image = Image.new("RGBA", (3, 3), (255, 0, 0, 0))
    tensor = load_image(_png_bytes(image))
    assert torch.allclose(tensor, torch.ones_like(tensor))


@pytest.mark.parametrize("data, message", [
    (b"", "not an image"),
    (b"hello, I am text", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image"),
])
def test_bad_bytes_raise_the_loader_error(data, message):
    with pytest.raises(ImageLoadError, match=message):
        load_image(data)


def test_truncated_jpeg_raises_the_loader_error():
    data = _png_bytes(Image.new("RGB", (64, 64), (10, 200, 30)), "JPEG")
    with pytest.raises(ImageLoadError):
        load_image(data[: len(data) // 2])


def test_missing_file_and_folder_say_what_is_wrong(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(ImageLoadError, match="folder"):
        load_image(tmp_path)


@pytest.mark.parametrize("filter", FILTERS)
@pytest.mark.parametrize("size", [8, 33, 100])
def test_resample_gives_the_asked_size_in_range(filter, size):
    image = torch.rand(3, 50, 40)
    out = resample(image, size, filter)
    assert out.shape == (3, size, size)
    assert 0 <= out.min() and out.max() <= 1


def test_resample_keep_aspect_sets_the_short_side():
    assert resample(torch.rand(3, 50, 100), 25, keep_aspect=True).shape == (3, 25, 50)


def test_area_downsampling_averages_blocks():
    image = torch.zeros(3, 4, 4)
    image[:, :2, :2] = 1.0
    out = resample(image, 2, "area")
    assert torch.allclose(out[:, 0, 0], torch.ones(3)) and torch.allclose(out[:, 1, 1], torch.zeros(3))


def test_unknown_filter_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown resampling filter"):
        resample(torch.rand(3, 4, 4), 2, "sinc")


def test_png_round_trip_is_exact_at_8_bits(tmp_path):
    image = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (3, 7, 5)).astype(np.float32) / 255)
    path = save_png(image, tmp_path / "x.png")
    assert torch.allclose(load_image(path), image, atol=1e-6)
