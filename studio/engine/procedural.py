"""Procedural image sets, reproducible by seed: test data, benchmarks and demos without downloads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from studio.engine.images import save_png

_PALETTE = [(230, 57, 70), (42, 157, 143), (233, 196, 106), (38, 70, 83), (244, 162, 97), (69, 123, 157)]


def discs(count: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Coloured discs of random radius and position on plain light backgrounds: uint8 (N, size, size, 3).

    Simple enough for a tiny GAN to learn in a few hundred steps, structured enough (round edges,
    two flat colours per image) that noise or a collapsed generator scores clearly worse."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), np.uint8)
    s = 4  # draw at 4x and downsample: anti-aliased edges
    for i in range(count):
        bg = tuple(int(v) for v in rng.integers(170, 256, 3))
        im = Image.new("RGB", (size * s, size * s), bg)
        r = rng.uniform(0.18, 0.38) * size * s
        cx, cy = rng.uniform(r, size * s - r, 2)
        color = _PALETTE[rng.integers(len(_PALETTE))]
        ImageDraw.Draw(im).ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
        out[i] = np.asarray(im.resize((size, size), Image.Resampling.BOX))
    return out


def write_folder(images: np.ndarray, folder: Path | str, prefix: str = "img") -> Path:
    """Write (N, H, W, C) uint8 pictures as PNG files into `folder` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, pic in enumerate(images):
        save_png(folder / f"{prefix}{i:05d}.png", pic)
    return folder
