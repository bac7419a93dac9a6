"""Draw the AdvLens icon (a lens over a perturbed grid) at the sizes a desktop needs.

Run `python packaging/make_icon.py` to regenerate resources/icons/advlens-N.png.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZES = (16, 32, 48, 64, 128, 256)
OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"


def draw(size: int) -> Image.Image:
    big = 1024
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 1, (16, 16))
    cells = np.kron(noise, np.ones((big // 16, big // 16)))
    red = np.clip(128 + 90 * cells, 0, 255)
    blue = np.clip(128 - 90 * cells, 0, 255)
    field = np.stack([red, np.full_like(red, 60), blue], axis=-1).astype(np.uint8)
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    mask = Image.new("L", (big, big), 0)
    ImageDraw.Draw(mask).rounded_rectangle([40, 40, big - 40, big - 40], radius=180, fill=255)
    canvas.paste(Image.fromarray(field, "RGB"), (0, 0), mask)
    d = ImageDraw.Draw(canvas)
    d.ellipse([200, 170, 700, 670], outline=(255, 255, 255, 255), width=70)
    d.line([(640, 610), (860, 830)], fill=(255, 255, 255, 255), width=110)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw(size).save(OUT / f"advlens-{size}.png")


if __name__ == "__main__":
    main()
