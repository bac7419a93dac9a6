"""Images in and out: Pillow files to float tensors in [0, 1] (C, H, W), resampling, PNG out.

Every failure to read an image becomes one `ImageLoadError` with a plain message. torch is imported
by the functions that make or take tensors, not by the module: the GUI process reads thumbnails,
lists folders and writes PNGs through it without torch.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import FILTERS

if TYPE_CHECKING:
    import torch

from .errors import ConfigError, ImageLoadError, first_error_line
from .files import open_file

# Pillow warns at 89 MP and refuses at twice that; we refuse earlier, before decoding a pixel:
# a lab image never needs more.
MAX_PIXELS = 64_000_000
ALPHA_BACKGROUND = (255, 255, 255)
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
# ITU-R BT.601 luma: how a colour image becomes one grey channel for a grey-input model.
LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB from any mode: alpha composited on white, 16-bit scaled down, palettes expanded."""
    if image.mode.startswith("I;16") or image.mode == "I":
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        array = np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        image = Image.fromarray(array, "L")
    elif image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        hi = array.max() if array.max() > 1.0 else 1.0
        image = Image.fromarray(np.clip(array / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode not in ("1", "L", "P", "RGB", "RGBA", "LA", "PA", "RGBa", "La", "CMYK", "YCbCr", "RGBX", "I", "F"):
        try:
            image = image.convert("RGB")
        except ValueError as exc:
            raise ImageLoadError(f"colour mode {image.mode} is not supported") from exc
    if image.mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, ALPHA_BACKGROUND + (255,))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
    (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"RIFF", "WebP"))


def _detail(exc: BaseException) -> str:
    return first_error_line(exc)[:120]


def _unidentified_reason(source: bytes | BinaryIO) -> str:
    """Why Pillow could not even identify a file: empty, a known format with a zero or broken header, or not an image."""
    if isinstance(source, bytes | bytearray):
        head = bytes(source[:32])
    else:
        try:
            source.seek(0)
            head = source.read(32)
        except (OSError, ValueError):
            head = b"?"
    if not head:
        return "not an image: the file is empty (0 bytes)"
    kind = next((name for signature, name in _SIGNATURES if head.startswith(signature)), None)
    if kind is None or (kind == "WebP" and head[8:12] != b"WEBP"):
        return "not an image file AdvLens can read"
    sizes = {"PNG": (">II", 16), "GIF": ("<HH", 6), "BMP": ("<ii", 18)}
    if kind in sizes:
        fmt, offset = sizes[kind]
        if len(head) >= offset + struct.calcsize(fmt):
            width, height = struct.unpack_from(fmt, head, offset)
            if width == 0 or height == 0:
                return f"{kind} image has zero size ({width}x{height})"
    return f"corrupt or truncated {kind} image"


def _open(source: Image.Image | bytes | str | os.PathLike, label: str, draft: int | None = None) -> Image.Image:
    """Decode the first frame, EXIF orientation applied; the size is checked before any pixel is decoded.

    `draft` asks decoders that can (JPEG) to decode at a reduced scale near that many pixels. A path is
    checked and opened once (files.open_file): a folder, FIFO, socket or device is refused before it is opened.
    """
    if isinstance(source, bytes | bytearray):
        return _decode(source, io.BytesIO(source), label, draft)
    if isinstance(source, Image.Image):
        return _decode(source, source, label, draft)
    with open_file(source, "an image", ImageLoadError, label) as handle:
        return _decode(handle, handle, label, draft)


def _decode(source: bytes | BinaryIO | Image.Image, data, label: str, draft: int | None) -> Image.Image:
    try:
        image = data if isinstance(data, Image.Image) else Image.open(data)  # reads the header only
        if image.width * image.height > MAX_PIXELS:
            image.close()
            raise Image.DecompressionBombError(f"{image.width}x{image.height}")
        image.seek(0)
        if draft is not None and image.format == "JPEG":
            image.draft("RGB", (draft, draft))
        image.load()
        image = ImageOps.exif_transpose(image)
    except FileNotFoundError as exc:
        raise ImageLoadError(f"{label}: no such file") from exc
    except IsADirectoryError as exc:
        raise ImageLoadError(f"{label}: is a folder, not an image") from exc
    except PermissionError as exc:
        raise ImageLoadError(f"{label}: permission denied") from exc
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"{label}: image too large (more than {MAX_PIXELS // 1_000_000} megapixels)") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(f"{label}: {_unidentified_reason(source)}") from exc
    except ImageLoadError:
        raise
    except Exception as exc:  # Pillow's decoders raise many types on malformed input
        raise ImageLoadError(f"{label}: corrupt or truncated image ({_detail(exc)})") from exc
    if image.width == 0 or image.height == 0:
        raise ImageLoadError(f"{label}: image has zero size")
    return image


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """(3, H, W) float32 in [0, 1] from any Pillow image."""
    import torch

    array = np.asarray(_to_rgb(image), dtype=np.float32) / 255.0
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def load_image(source: str | os.PathLike | bytes) -> torch.Tensor:
    """Read an image file (or its bytes) into (3, H, W) float32 in [0, 1]; raises ImageLoadError."""
    label = "image data" if isinstance(source, bytes | bytearray) else str(source)
    try:
        return pil_to_tensor(_open(source, label))
    except ImageLoadError as exc:
        if str(exc).startswith(label):
            raise
        raise ImageLoadError(f"{label}: {exc}") from exc
    except Exception as exc:  # converting a decoded but malformed image can fail in many ways
        raise ImageLoadError(f"{label}: corrupt or truncated image ({_detail(exc)})") from exc


def load_thumbnail(path: str | os.PathLike, size: int = 96) -> np.ndarray:
    """A small (H, W, 3) uint8 preview, longest side `size`, decoded cheaply (JPEG draft mode)."""
    label = str(path)
    try:
        image = _open(path, label, draft=size)
        image.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.asarray(_to_rgb(image), dtype=np.uint8)
    except ImageLoadError as exc:
        if str(exc).startswith(label):
            raise
        raise ImageLoadError(f"{label}: {exc}") from exc
    except Exception as exc:  # as in load_image: any decoder failure is the file's fault
        raise ImageLoadError(f"{label}: corrupt or truncated image ({_detail(exc)})") from exc


def list_image_files(folder: str | os.PathLike) -> list[Path]:
    """The image files directly in a folder (by suffix, hidden files skipped), sorted by name."""
    folder = Path(folder)
    try:
        entries = [entry for entry in os.scandir(folder) if not entry.name.startswith(".")]
    except FileNotFoundError as exc:
        raise ImageLoadError(f"{folder}: no such folder") from exc
    except NotADirectoryError as exc:
        raise ImageLoadError(f"{folder}: not a folder") from exc
    except PermissionError as exc:
        raise ImageLoadError(f"{folder}: permission denied") from exc
    files = [Path(entry.path) for entry in entries
             if Path(entry.name).suffix.lower() in IMAGE_SUFFIXES and entry.is_file()]
    return sorted(files, key=lambda p: p.name.lower())


def adapt_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """(N, C, H, W) images with the channel count a model takes: colour to grey by luma, grey repeated."""
    import torch

    have = images.shape[1]
    if have == channels:
        return images
    if have == 3 and channels == 1:
        weights = torch.tensor(LUMA_WEIGHTS, dtype=images.dtype, device=images.device).reshape(1, 3, 1, 1)
        return (images * weights).sum(dim=1, keepdim=True)
    if have == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1)
    return images


def check_filter(name: str) -> str:
    if name not in FILTERS:
        raise ConfigError(f"unknown resampling filter '{name}': choose one of {', '.join(FILTERS)}")
    return name


def target_shape(height: int, width: int, size: int, keep_aspect: bool) -> tuple[int, int]:
    """(H, W) for resampling: size x size, or the short side set to `size` when keeping aspect."""
    if size < 1:
        raise ConfigError(f"resolution must be positive, got {size}")
    if not keep_aspect:
        return size, size
    if height <= width:
        return size, max(1, round(width * size / height))
    return max(1, round(height * size / width)), size


def resample(image: torch.Tensor, size: int, filter: str = "area", keep_aspect: bool = False) -> torch.Tensor:
    """Resample (C, H, W) or (N, C, H, W) to `size` with a named filter; values stay in [0, 1].

    'area' averages when shrinking (the honest way to lower resolution) and falls back to bicubic
    when enlarging; 'lanczos' goes through Pillow in float mode, channel by channel.
    """
    check_filter(filter)
    batched = image.dim() == 4
    x = image if batched else image[None]
    h, w = target_shape(x.shape[-2], x.shape[-1], size, keep_aspect)
    out = _resample_to(x, h, w, filter)
    return out if batched else out[0]


def fit_image(image: torch.Tensor, size: int, fit: str = "squash", filter: str = "area",
              crop_pct: float | None = None, fill: tuple[float, ...] | None = None) -> torch.Tensor:
    """(C, H, W) or (N, C, H, W) fitted to size x size the way a model's own preprocessing does.

    'crop': the short side resized to size / crop_pct, then the centre size x size cut out (timm's and
    torchvision's resize-then-centre-crop; crop_pct 1 keeps the whole short side); 'squash': both sides
    resized (a non-square photo is distorted); 'pad': the long side resized to size, the rest filled
    with `fill` (the model's mean colour, which its normalisation maps to zero).
    """
    import torch

    if fit not in ("crop", "squash", "pad"):
        raise ConfigError(f"unknown fit '{fit}': choose crop, squash or pad")
    h, w = image.shape[-2:]
    if fit == "squash" or (h == w and (fit == "pad" or not crop_pct or crop_pct >= 1.0)):
        return resample(image, size, filter)
    if fit == "crop":
        pct = crop_pct if crop_pct and 0 < crop_pct <= 1 else 1.0
        short = max(size, int(size / pct))  # timm: scale_size = floor(img_size / crop_pct)
        scaled = resample(image, short, filter, keep_aspect=True)
        sh, sw = scaled.shape[-2:]
        top, left = int(round((sh - size) / 2.0)), int(round((sw - size) / 2.0))
        return scaled[..., top:top + size, left:left + size].contiguous()
    long_h, long_w = (size, max(1, round(w * size / h))) if h >= w else (max(1, round(h * size / w)), size)
    batched = image.dim() == 4
    x = image if batched else image[None]
    scaled = _resample_to(x, long_h, long_w, filter)
    colour = torch.tensor(fill if fill is not None else (0.5,) * x.shape[1], dtype=x.dtype, device=x.device)
    out = colour.reshape(1, -1, 1, 1).expand(x.shape[0], x.shape[1], size, size).clone()
    top, left = (size - long_h) // 2, (size - long_w) // 2
    out[..., top:top + long_h, left:left + long_w] = scaled
    return out if batched else out[0]


def _resample_to(x: torch.Tensor, h: int, w: int, filter: str) -> torch.Tensor:
    """(N, C, H, W) resampled to exactly h x w with a named filter (resample's rules, any aspect)."""
    import torch
    import torch.nn.functional as F  # noqa: N812 - the usual name

    if (h, w) == tuple(x.shape[-2:]):
        return x.clone()
    if filter == "lanczos":
        return torch.stack([_lanczos(img, h, w) for img in x]).clamp(0.0, 1.0)
    if filter == "area":
        shrinking = h <= x.shape[-2] and w <= x.shape[-1]
        out = F.interpolate(x, size=(h, w), mode="area" if shrinking else "bicubic",
                            **({} if shrinking else {"align_corners": False}))
    elif filter == "nearest":
        out = F.interpolate(x, size=(h, w), mode="nearest-exact")
    else:
        out = F.interpolate(x, size=(h, w), mode=filter, align_corners=False, antialias=True)
    return out.clamp(0.0, 1.0)


def _lanczos(image: torch.Tensor, h: int, w: int) -> torch.Tensor:
    import torch

    channels = []
    for channel in image.detach().cpu().numpy():
        pil = Image.fromarray(channel.astype(np.float32), "F").resize((w, h), Image.Resampling.LANCZOS)
        channels.append(torch.from_numpy(np.asarray(pil, dtype=np.float32).copy()))
    return torch.stack(channels).to(image.device)


def to_uint8(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 from a (3, H, W) float image in [0, 1]."""
    array = image.detach().cpu().numpy() if hasattr(image, "detach") else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = array.transpose(1, 2, 0)
    return np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file through a temp file in the same folder and a rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_png(image: torch.Tensor | np.ndarray, path: str | os.PathLike) -> Path:
    """Save a (3, H, W) [0, 1] image, or an (H, W, 3) uint8 array, as PNG (atomically)."""
    array = image if isinstance(image, np.ndarray) and image.dtype == np.uint8 else to_uint8(image)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)
