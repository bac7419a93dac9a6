"""Images in and out: Pillow files to float tensors in [0, 1] (C, H, W), resampling, PNG out.

Every failure to read an image becomes one `ImageLoadError` with a plain message.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ConfigError, ImageLoadError

# Pillow warns at 89 MP and refuses at twice that; we refuse earlier: a lab image never needs more.
MAX_PIXELS = 64_000_000
ALPHA_BACKGROUND = (255, 255, 255)
FILTERS: tuple[str, ...] = ("area", "bilinear", "bicubic", "lanczos", "nearest")
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB from any mode: alpha composited on white, 16-bit scaled down, palettes expanded."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        array = np.clip(array / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        image = Image.fromarray(array, "L")
    elif image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        hi = array.max() if array.max() > 1.0 else 1.0
        image = Image.fromarray(np.clip(array / hi * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, ALPHA_BACKGROUND + (255,))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


def _open(source: Image.Image | bytes | str | os.PathLike, label: str) -> Image.Image:
    previous = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        data = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
        image = Image.open(data)
        image.seek(0)
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
        raise ImageLoadError(f"{label}: not an image file AdvLens can read") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError,
            ZeroDivisionError, MemoryError, AttributeError, struct.error) as exc:
        raise ImageLoadError(f"{label}: corrupt or truncated image ({type(exc).__name__})") from exc
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    if image.width == 0 or image.height == 0:
        raise ImageLoadError(f"{label}: image has zero size")
    return image


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """(3, H, W) float32 in [0, 1] from any Pillow image."""
    array = np.asarray(_to_rgb(image), dtype=np.float32) / 255.0
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def load_image(source: str | os.PathLike | bytes) -> torch.Tensor:
    """Read an image file (or its bytes) into (3, H, W) float32 in [0, 1]; raises ImageLoadError."""
    label = "image data" if isinstance(source, bytes | bytearray) else str(source)
    try:
        return pil_to_tensor(_open(source, label))
    except ImageLoadError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, MemoryError) as exc:
        raise ImageLoadError(f"{label}: corrupt or truncated image ({type(exc).__name__})") from exc


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
    if (h, w) == tuple(x.shape[-2:]):
        out = x.clone()
    elif filter == "lanczos":
        out = torch.stack([_lanczos(img, h, w) for img in x])
    elif filter == "area":
        shrinking = h <= x.shape[-2] and w <= x.shape[-1]
        mode = "area" if shrinking else "bicubic"
        out = F.interpolate(x, size=(h, w), mode=mode, **({} if shrinking else {"align_corners": False}))
    elif filter == "nearest":
        out = F.interpolate(x, size=(h, w), mode="nearest-exact")
    else:
        out = F.interpolate(x, size=(h, w), mode=filter, align_corners=False, antialias=True)
    out = out.clamp(0.0, 1.0)
    return out if batched else out[0]


def _lanczos(image: torch.Tensor, h: int, w: int) -> torch.Tensor:
    channels = []
    for channel in image.detach().cpu().numpy():
        pil = Image.fromarray(channel.astype(np.float32), "F").resize((w, h), Image.Resampling.LANCZOS)
        channels.append(torch.from_numpy(np.asarray(pil, dtype=np.float32).copy()))
    return torch.stack(channels).to(image.device)


def to_uint8(image: torch.Tensor | np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 from a (3, H, W) float image in [0, 1]."""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
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
