"""Images people really have, and every bad file: one ImageLoadError with a plain message, never a crash."""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from advlens.engine.errors import ImageLoadError
from advlens.engine.images import (
    ALPHA_BACKGROUND,
    LUMA_WEIGHTS,
    MAX_PIXELS,
    adapt_channels,
    list_image_files,
    load_image,
    load_thumbnail,
)


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _gradient(width: int = 20, height: int = 12) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None, None]
    array = np.concatenate([np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1)),
                            np.full((height, width, 1), 90, np.uint8)], axis=2)
    return Image.fromarray(np.ascontiguousarray(array), "RGB")


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header claims a size, with almost no pixel data (what a decompression bomb looks like)."""
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b"")


# ------------------------------------------------------------------------------------------ formats and modes
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "WEBP", "GIF"])
def test_every_listed_format_loads_as_rgb(fmt, tmp_path):
    image = _gradient()
    options = {"lossless": True} if fmt == "WEBP" else {}
    path = tmp_path / f"picture.{fmt.lower()}"
    path.write_bytes(_encode(image, fmt, **options))
    tensor = load_image(path)
    assert tensor.shape == (3, 12, 20)
    tolerance = {"JPEG": 0.1, "GIF": 0.1}.get(fmt, 1e-6)
    expected = torch.from_numpy(np.asarray(image, np.float32).transpose(2, 0, 1) / 255)
    assert (tensor - expected).abs().mean() < tolerance


def test_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    tensor = load_image(buffer.getvalue())
    assert tensor[0].mean() > 0.9 and tensor[2].mean() < 0.1


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (30, 10), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 10, 10))  # white block at the left
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    tensor = load_image(_encode(image, "JPEG", exif=exif, quality=95))
    assert tensor.shape == (3, 30, 10)  # portrait after rotation
    assert tensor[:, :10].mean() > 0.8 and tensor[:, 20:].mean() < 0.2  # the block is now at the top


def test_rgba_is_composited_on_the_documented_background():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    image.putpixel((0, 0), (255, 0, 0, 255))
    tensor = load_image(_encode(image, "PNG"))
    background = torch.tensor(ALPHA_BACKGROUND, dtype=torch.float32) / 255
    assert torch.allclose(tensor[:, 1, 1], background)
    assert torch.allclose(tensor[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]))


def test_palette_with_transparency_and_sixteen_bit_tiff_load():
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette.info["transparency"] = 0
    assert torch.allclose(load_image(_encode(palette, "PNG")), torch.ones(3, 4, 4))
    deep = Image.fromarray(np.full((5, 5), 65535, np.uint16))
    assert torch.allclose(load_image(_encode(deep, "TIFF")), torch.ones(3, 5, 5))


def test_colour_becomes_grey_for_a_one_channel_model_and_grey_becomes_colour():
    rgb = torch.rand(2, 3, 4, 4)
    grey = adapt_channels(rgb, 1)
    expected = sum(w * rgb[:, i] for i, w in enumerate(LUMA_WEIGHTS))
    assert torch.allclose(grey[:, 0], expected)
    assert adapt_channels(grey, 3).shape == (2, 3, 4, 4)


# ------------------------------------------------------------------------------------------ bad files
def _bad_image_cases(tmp_path) -> dict[str, tuple[object, str]]:
    jpeg = _encode(_gradient(64, 64), "JPEG")
    png = _encode(_gradient(), "PNG")
    folder = tmp_path / "a folder.png"
    folder.mkdir()
    text = tmp_path / "notes.png"
    text.write_text("these are my notes, not a picture")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    return {
        "decompression bomb": (_png_with_size(100_000, 100_000), "image too large"),
        "bomb just over the limit": (_png_with_size(MAX_PIXELS // 1000 + 1, 1000), "image too large"),
        "truncated JPEG": (jpeg[: len(jpeg) // 2], "corrupt or truncated"),
        "truncated PNG header": (png[:30], "corrupt or truncated PNG"),
        "corrupt PNG data": (png[:40] + bytes(len(png) - 40), "corrupt or truncated"),
        "zero-size PNG": (_png_with_size(0, 10), "zero size"),
        "zero-size GIF": (b"GIF89a" + struct.pack("<HH", 0, 0) + b"\x00\x00\x00;", "zero size"),
        "text file": (text, "not an image file"),
        "empty file": (empty, "empty (0 bytes)"),
        "missing path": (tmp_path / "nowhere" / "missing.png", "no such file"),
        "folder": (folder, "is a folder"),
    }


CASE_NAMES = ["decompression bomb", "bomb just over the limit", "truncated JPEG", "truncated PNG header",
              "corrupt PNG data", "zero-size PNG", "zero-size GIF", "text file", "empty file", "missing path",
              "folder"]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_each_bad_image_gets_its_own_message(case, tmp_path):
    source, words = _bad_image_cases(tmp_path)[case]
    with pytest.raises(ImageLoadError) as info:
        load_image(source)
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    if not isinstance(source, bytes):
        assert str(source) in message  # the message names the file


def test_unreadable_file_says_permission_denied(tmp_path, monkeypatch):
    path = tmp_path / "secret.png"
    path.write_bytes(_encode(_gradient(), "PNG"))
    if os.geteuid() == 0:  # root reads any file: make the read fail the way it fails for a user
        real_open = os.open  # images are opened once, by files.open_file

        def refusing_open(file, *args, **kwargs):
            if str(file) == str(path):
                raise PermissionError(13, "Permission denied", str(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr("os.open", refusing_open)
    else:
        path.chmod(0)
    with pytest.raises(ImageLoadError, match="secret.png: permission denied"):
        load_image(path)


def _seed_images() -> list[bytes]:
    image = _gradient(16, 9)
    rgba = image.convert("RGBA")
    return [_encode(image, "PNG"), _encode(image, "JPEG"), _encode(image, "BMP"), _encode(image, "TIFF"),
            _encode(image, "WEBP"), _encode(image.convert("P"), "GIF"), _encode(rgba, "PNG"),
            _encode(image.convert("L"), "TIFF", compression="tiff_lzw")]


SEEDS = _seed_images()


@st.composite
def mutated_images(draw) -> bytes:
    """A valid image of a listed format, then byte flips, a cut, an insertion or a header overwrite."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    action = draw(st.sampled_from(["none", "cut", "insert", "overwrite"]))
    if action == "cut":
        data = data[: draw(st.integers(0, len(data)))]
    elif action == "insert":
        position = draw(st.integers(0, len(data)))
        data[position:position] = draw(st.binary(min_size=1, max_size=32))
    elif action == "overwrite":
        position = draw(st.integers(0, min(64, len(data))))
        chunk = draw(st.binary(min_size=1, max_size=16))
        data[position:position + len(chunk)] = chunk
    return bytes(data)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about odd metadata it skips
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_images())
def test_fuzzed_image_bytes_load_or_raise_the_loader_error(data):
    try:
        tensor = load_image(data)
    except ImageLoadError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert tensor.dim() == 3 and tensor.shape[0] == 3
        assert tensor.dtype == torch.float32 and 0 <= float(tensor.min()) and float(tensor.max()) <= 1


# ------------------------------------------------------------------------------------------ folders
def test_folder_listing_keeps_image_files_only_sorted_by_name(tmp_path):
    for name in ["b.PNG", "a.jpg", "c.txt", ".hidden.png", "d.webp"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_image_files(tmp_path)] == ["a.jpg", "b.PNG", "d.webp"]
    with pytest.raises(ImageLoadError, match="no such folder"):
        list_image_files(tmp_path / "missing")


def test_thumbnails_are_small_and_bad_files_raise_the_loader_error(tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(_encode(_gradient(1200, 800), "JPEG"))
    thumb = load_thumbnail(big, 96)
    assert thumb.dtype == np.uint8 and max(thumb.shape[:2]) == 96 and thumb.shape[2] == 3
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnonsense")
    with pytest.raises(ImageLoadError, match="bad.png"):
        load_thumbnail(bad)
