"""Conversions between network tensors and uint8 pictures, grids and PNG files, and the one way
the program opens an image file (`open_image`)."""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
from PIL import Image

from studio.engine.atomic import write_bytes_atomic

if TYPE_CHECKING:
    import torch

# torch is imported inside the two tensor functions: the picture and PNG helpers are used by the
# studio's start-up path (opening a project), which should not wait ~2 s for torch to load.

_PIL_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}

# The only formats Pillow may open (JPEG includes camera MPO files), whatever a file is named.
# Left to its full list Pillow would run Ghostscript, an external program, on an EPS or PS file
# named step-0000020.png in a project's samples; PDF, PSD, ICO and the rest are no pictures the
# studio writes or trains on.
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")


def open_image(source: str | os.PathLike | IO[bytes], formats: Sequence[str] = IMAGE_FORMATS) -> Image.Image:
    """Pillow's Image.open limited to `formats`: every image file the program reads comes through here.

    Only the header is read. Anything else (by content, not by name) raises PIL.UnidentifiedImageError,
    an OSError, before any of its decoders runs. Any thread."""
    return Image.open(source, formats=_registered(tuple(formats)))


@functools.cache
def _registered(formats: tuple[str, ...]) -> tuple[str, ...]:
    # A Pillow built without e.g. WebP must refuse those files, not raise KeyError on every open.
    Image.init()
    return tuple(f for f in formats if f in Image.OPEN)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) tensor in [-1, 1] on any device -> uint8 numpy (B, H, W, C) on the CPU."""
    import torch

    x = x.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def from_uint8(a: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (B, C, H, W) tensor or (H, W, C) array -> float tensor in [-1, 1], (B, C, H, W)."""
    import torch

    t = torch.as_tensor(a)
    if t.ndim == 3:  # a single HWC picture
        t = t.permute(2, 0, 1).unsqueeze(0)
    return t.float().div(127.5).sub(1)


def make_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2, fill: int = 32) -> np.ndarray:
    """Tile (B, H, W, C) uint8 pictures into one (H', W', C) grid, `nrow` pictures per row."""
    b, h, w, c = images.shape
    nrow = nrow or max(1, int(math.ceil(math.sqrt(b))))
    rows = int(math.ceil(b / nrow))
    grid = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), fill, np.uint8)
    if c == 4:  # transparent padding reads better than a grey frame on RGBA grids
        grid[..., 3] = 0
    for i in range(b):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y : y + h, x : x + w] = images[i]
    return grid


def to_pil(picture: np.ndarray) -> Image.Image:
    """(H, W, C) or (H, W) uint8 -> PIL image of the matching mode."""
    if picture.ndim == 2:
        return Image.fromarray(picture, "L")
    if picture.shape[2] == 1:
        return Image.fromarray(picture[:, :, 0], "L")
    return Image.fromarray(picture, _PIL_MODES[picture.shape[2]])


def png_bytes(picture: np.ndarray) -> bytes:
    """Encode an (H, W, C) uint8 picture as PNG bytes."""
    buf = io.BytesIO()
    to_pil(picture).save(buf, format="PNG", compress_level=3)  # level 3: ~3x faster, files ~10% larger
    return buf.getvalue()


def save_png(path: Path | str, picture: np.ndarray) -> None:
    """Write a picture as PNG atomically (a half-written sample grid is never visible)."""
    write_bytes_atomic(path, png_bytes(picture))


def load_png(path: Path | str) -> np.ndarray:
    """Read a PNG written by save_png back as an (H, W, C) uint8 array (any allowed format is read;
    other files raise PIL.UnidentifiedImageError, an OSError)."""
    with open_image(path) as im:
        a = np.asarray(im.convert(im.mode if im.mode in ("L", "LA", "RGB", "RGBA") else "RGB"))
    return a[:, :, None] if a.ndim == 2 else a
