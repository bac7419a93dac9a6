"""Procedural shapes: a 10-class image dataset that can be drawn at any resolution, offline.

A scene is a small set of parameters drawn from a seed (shape, colours, position, scale, rotation,
background texture). The same scene rendered at 16 px and at 512 px is the same picture sampled
more finely, which is what the Resolution lab needs: resolution changes, content does not.
Rendering draws at a supersampled size with Pillow and box-downsamples (area averaging).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

CLASSES: tuple[str, ...] = (
    "circle",
    "square",
    "triangle",
    "star",
    "cross",
    "ring",
    "crescent",
    "arrow",
    "heart",
    "bars",
)


@dataclass(frozen=True)
class Scene:
    """Everything that defines one picture, independent of resolution."""

    label: int
    cx: float
    cy: float
    scale: float  # radius of the shape as a fraction of the image side
    angle: float  # degrees
    fg: tuple[int, int, int]
    bg: tuple[int, int, int]
    bg2: tuple[int, int, int]
    texture: int  # 0 flat, 1 linear gradient, 2 stripes, 3 checks
    texture_freq: float
    texture_angle: float

    def to_dict(self) -> dict:
        return asdict(self)


def _contrasting_colours(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Foreground and two background colours with a guaranteed luminance or hue gap."""
    while True:
        fg = rng.integers(0, 256, 3)
        bg = rng.integers(0, 256, 3)
        if np.abs(fg.astype(int) - bg.astype(int)).sum() >= 200:
            break
    jitter = rng.integers(-40, 41, 3)
    bg2 = np.clip(bg.astype(int) + jitter, 0, 255)
    return tuple(int(v) for v in fg), tuple(int(v) for v in bg), tuple(int(v) for v in bg2)


def random_scene(seed: int, label: int | None = None) -> Scene:
    """The scene for a seed; `label` forces the class (the rest still follows the seed)."""
    rng = np.random.default_rng(seed)
    drawn_label = int(rng.integers(0, len(CLASSES)))
    if label is None:
        label = drawn_label
    scale = float(rng.uniform(0.22, 0.40))
    margin = scale + 0.04
    cx = float(rng.uniform(margin, 1 - margin))
    cy = float(rng.uniform(margin, 1 - margin))
    angle = float(rng.uniform(-25, 25))
    fg, bg, bg2 = _contrasting_colours(rng)
    texture = int(rng.integers(0, 4))
    return Scene(
        label=int(label),
        cx=cx,
        cy=cy,
        scale=scale,
        angle=angle,
        fg=fg,
        bg=bg,
        bg2=bg2,
        texture=texture,
        texture_freq=float(rng.uniform(2.0, 6.0)),
        texture_angle=float(rng.uniform(0, 180)),
    )


def _rotate(points: list[tuple[float, float]], angle_deg: float) -> list[tuple[float, float]]:
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    return [(x * c - y * s, x * s + y * c) for x, y in points]


def _star(n: int, inner: float) -> list[tuple[float, float]]:
    pts = []
    for i in range(2 * n):
        r = 1.0 if i % 2 == 0 else inner
        t = math.pi * i / n - math.pi / 2
        pts.append((r * math.cos(t), r * math.sin(t)))
    return pts


def _regular(n: int, phase: float = -math.pi / 2) -> list[tuple[float, float]]:
    return [(math.cos(phase + 2 * math.pi * i / n), math.sin(phase + 2 * math.pi * i / n)) for i in range(n)]


def _heart(samples: int = 64) -> list[tuple[float, float]]:
    pts = []
    for i in range(samples):
        t = 2 * math.pi * i / samples
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((x / 17.0, -y / 17.0 + 0.1))
    return pts


_CROSS = [(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1), (-0.3, 1),
          (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)]
_ARROW = [(-1, -0.25), (0.2, -0.25), (0.2, -0.7), (1, 0), (0.2, 0.7), (0.2, 0.25), (-1, 0.25)]
_SQUARE = [(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)]


def _shape_polygons(label: int) -> tuple[list[list[tuple[float, float]]], list[list[tuple[float, float]]]]:
    """(filled polygons, holes) in unit coordinates for polygonal classes."""
    name = CLASSES[label]
    if name == "square":
        return [_SQUARE], []
    if name == "triangle":
        return [[(x * 1.05, y * 1.05 + 0.15) for x, y in _regular(3)]], []
    if name == "star":
        return [_star(5, 0.42)], []
    if name == "cross":
        return [_CROSS], []
    if name == "arrow":
        return [_ARROW], []
    if name == "heart":
        return [_heart()], []
    if name == "bars":
        return [[(-1, -0.9), (-0.35, -0.9), (-0.35, 0.9), (-1, 0.9)],
                [(0.35, -0.9), (1, -0.9), (1, 0.9), (0.35, 0.9)]], []
    raise KeyError(name)


def _background(scene: Scene, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    t = math.radians(scene.texture_angle)
    u = xx * math.cos(t) + yy * math.sin(t)
    bg = np.array(scene.bg, np.float32)
    bg2 = np.array(scene.bg2, np.float32)
    if scene.texture == 0:
        w = np.zeros_like(u)
    elif scene.texture == 1:
        w = (u - u.min()) / max(float(u.max() - u.min()), 1e-6)
    elif scene.texture == 2:
        w = 0.5 + 0.5 * np.sin(2 * math.pi * scene.texture_freq * u)
    else:
        v = -xx * math.sin(t) + yy * math.cos(t)
        w = 0.5 + 0.5 * np.sin(2 * math.pi * scene.texture_freq * u) * np.sin(2 * math.pi * scene.texture_freq * v)
    img = bg[None, None, :] * (1 - w[..., None]) + bg2[None, None, :] * w[..., None]
    return img.clip(0, 255).astype(np.uint8)


def render_scene(scene: Scene, size: int, supersample: int | None = None) -> Image.Image:
    """Draw a scene as an RGB `size` x `size` Pillow image (area-averaged from a finer drawing)."""
    if size < 4:
        raise ValueError(f"size must be at least 4 pixels, got {size}")
    if supersample is None:
        supersample = 4 if size <= 64 else 2 if size <= 256 else 1
    big = size * supersample
    canvas = Image.fromarray(_background(scene, big), "RGB")
    draw = ImageDraw.Draw(canvas)
    cx, cy, r = scene.cx * big, scene.cy * big, scene.scale * big
    name = CLASSES[scene.label]

    def to_px(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        return [(cx + x * r, cy + y * r) for x, y in _rotate(points, scene.angle)]

    if name == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=scene.fg)
    elif name == "ring":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=scene.fg)
        ri = r * 0.55
        mask = Image.new("L", canvas.size, 0)
        ImageDraw.Draw(mask).ellipse([cx - ri, cy - ri, cx + ri, cy + ri], fill=255)
        canvas.paste(Image.fromarray(_background(scene, big), "RGB"), (0, 0), mask)
    elif name == "crescent":
        mask = Image.new("L", canvas.size, 0)
        md = ImageDraw.Draw(mask)
        md.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
        ox, oy = _rotate([(0.45, -0.2)], scene.angle)[0]
        ro = r * 0.85
        md.ellipse([cx + ox * r - ro, cy + oy * r - ro, cx + ox * r + ro, cy + oy * r + ro], fill=0)
        canvas.paste(Image.new("RGB", canvas.size, scene.fg), (0, 0), mask)
    else:
        polys, _ = _shape_polygons(scene.label)
        for poly in polys:
            draw.polygon(to_px(poly), fill=scene.fg)
    if supersample > 1:
        canvas = canvas.resize((size, size), Image.Resampling.BOX)
    return canvas


def render_array(scene: Scene, size: int) -> np.ndarray:
    """A scene as float32 HWC in [0, 1]."""
    return np.asarray(render_scene(scene, size), dtype=np.float32) / 255.0


def render_batch(seeds: np.ndarray | list[int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, size, size) float32 in [0,1] and labels (N,) for a list of scene seeds."""
    images = np.empty((len(seeds), 3, size, size), np.float32)
    labels = np.empty(len(seeds), np.int64)
    for i, s in enumerate(seeds):
        scene = random_scene(int(s))
        images[i] = render_array(scene, size).transpose(2, 0, 1)
        labels[i] = scene.label
    return images, labels


# Seeds at or above this value are reserved for evaluation and samples; training never draws them.
EVAL_SEED_BASE = 1_000_000_000


def eval_seeds(count: int, offset: int = 0) -> list[int]:
    """Held-out scene seeds (never used in training)."""
    return [EVAL_SEED_BASE + offset + i for i in range(count)]
