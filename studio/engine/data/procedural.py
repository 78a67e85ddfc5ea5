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


# The two domains of the red <-> blue shapes translation task (tests and bench/quality_check.py)
SHAPES_RED, SHAPES_BLUE = (200, 40, 50), (40, 60, 200)


def coloured_shapes(count: int, size: int, seed: int, colour: tuple[int, int, int]) -> np.ndarray:
    """Discs, squares and triangles of jittered `colour` on random light grey: uint8 (N, size, size, 3).
    Two calls with different colours make an unpaired translation task (red shapes <-> blue shapes)."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), np.uint8)
    s = size * 4  # drawn at 4x and downsampled: anti-aliased edges
    for i in range(count):
        g = int(rng.integers(200, 250))
        im = Image.new("RGB", (s, s), (g, g, g))
        draw = ImageDraw.Draw(im)
        r = rng.uniform(0.2, 0.35) * s
        cx, cy = rng.uniform(r, s - r, 2)
        fill = tuple(int(np.clip(c + d, 0, 255)) for c, d in zip(colour, rng.integers(-25, 26, 3)))
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        elif kind == 1:
            draw.rectangle([cx - r, cy - r, cx + r, cy + r], fill=fill)
        else:
            draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
        out[i] = np.asarray(im.resize((size, size), Image.Resampling.BOX))
    return out


def shape_translation_scores(test_a: np.ndarray, test_b: np.ndarray, a2b: np.ndarray, b2a: np.ndarray) -> dict:
    """How well a translator turned `coloured_shapes` of one colour (test_a) into the other's
    (test_b) and back: `a2b` / `b2a` are its uint8 outputs for test_a / test_b.

    colour: distance of the translated shapes' colour to the target domain's, relative to the gap
    between the two domains (1.0 = unchanged, 0 = exact); iou: overlap of the translated shapes with
    the input's (kept in place); background chroma: how grey the A->B background stayed."""
    ma, mb = _saturated(test_a), _saturated(test_b)
    col_a, col_b = _mean_colour(test_a, ma), _mean_colour(test_b, mb)
    gap = np.linalg.norm(col_a - col_b)
    return {
        "a2b_colour": float(np.linalg.norm(_mean_colour(a2b, ma) - col_b) / gap),
        "b2a_colour": float(np.linalg.norm(_mean_colour(b2a, mb) - col_a) / gap),
        "a2b_iou": _iou(ma, _saturated(a2b)),
        "b2a_iou": _iou(mb, _saturated(b2a)),
        "a2b_background_chroma": float(np.ptp(a2b.astype(np.int16), axis=-1)[~ma].mean()),
    }


def _saturated(pictures: np.ndarray) -> np.ndarray:
    """The shapes' pixels (backgrounds are grey). (N, H, W) bool."""
    p = pictures.astype(np.int16)
    return (p.max(-1) - p.min(-1)) > 60


def _mean_colour(pictures: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return pictures.astype(np.float64)[mask].mean(0)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def write_folder(images: np.ndarray, folder: Path | str, prefix: str = "img") -> Path:
    """Write (N, H, W, C) uint8 pictures as PNG files into `folder` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i, pic in enumerate(images):
        save_png(folder / f"{prefix}{i:05d}.png", pic)
    return folder
