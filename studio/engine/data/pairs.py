"""Training pairs for paired translation: inputs made from targets, and pairs found on disk.

`make_input` turns one target picture into the input a paired model learns to translate from
(a sketch, a grey copy, a blurred or low-resolution copy, a copy with holes). It is a pure
function of (mode, target, seed): the same picture always yields the same input, so a training
run, its resume and the wizard's preview agree without storing the inputs.

Pairs found on disk: two folders matched by relative path without extension (`match_by_name`), or
one folder of side-by-side input|target pictures (`prepare_side_by_side`, the pix2pix datasets'
format). Which needs which collection: see `PAIR_MODES`.

Any thread may call these functions.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from studio.engine.errors import Cancelled, UserError

if TYPE_CHECKING:
    import torch

    from studio.engine.data.dataset import DataConfig, ImageDataset

# Which collection each mode suits; the wizard and `--help` show these sentences.
PAIR_MODES: dict[str, str] = {
    "edges": "Soft sketch-like lines from the picture's edges: for drawings, portraits and products with clear shapes, "
    "to turn rough sketches into finished pictures.",
    "lineart": "Thin black strokes on white: for line-driven artwork such as comics, ink and pencil drawings, "
    "to turn clean line art into finished pictures.",
    "grey": "A grey copy of each picture: for colour collections with varied palettes, "
    "to learn colouring in your style.",
    "blur": "A blurred copy of each picture: for sharp photographs or detailed artwork, to learn sharpening.",
    "lowres": "A copy with a quarter of the resolution: for detailed pictures with fine texture, "
    "to learn 4x super-resolution.",
    "masked": "A copy with random grey holes: for collections with repeated textures or scenes, "
    "to learn filling in missing parts.",
}

# The upscaling factor a mode's model learns; the translate path upscales by it.
UPSCALE = {"lowres": 4}

HOLE_GREY = 128
# The seed training makes its inputs with: a preview made with it shows exactly the pairs trained on.
TRAINING_SEED = 0


def make_input(mode: str, target: np.ndarray, seed: int) -> np.ndarray:
    """The input for `target` (HxWxC uint8) under `mode`: HxWxC uint8 of the same size and channels.

    Deterministic for (target, seed); only `masked` uses the seed (where the holes go), mixed with
    a checksum of the picture so that pictures sharing a seed still get different holes.
    """
    if mode not in PAIR_MODES:
        raise ValueError(f"Unknown pair mode {mode!r}; choose one of {', '.join(PAIR_MODES)}.")
    target = np.asarray(target)
    if target.ndim != 3 or target.dtype != np.uint8 or target.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"Expected an HxWxC uint8 picture with 1-4 channels (got {target.shape} {target.dtype}).")
    h, w, c = target.shape
    colour = c - (1 if c in (2, 4) else 0)  # alpha, when present, is carried over unchanged
    if mode == "edges":
        out = _replicate(edge_lines(_luma(target)), colour)
    elif mode == "lineart":
        out = _replicate(line_art(_luma(target)), colour)
    elif mode == "grey":
        out = _replicate(np.clip(np.rint(_luma(target)), 0, 255).astype(np.uint8), colour)
    elif mode == "blur":
        sigma = 1.5 * _scale(h, w)
        out = np.clip(np.rint(_blur(target[..., :colour].astype(np.float32), sigma)), 0, 255).astype(np.uint8)
    elif mode == "lowres":
        out = _low_resolution(target[..., :colour], UPSCALE["lowres"])
    else:
        out = _with_holes(target[..., :colour], seed)
    if colour < c:
        out = np.concatenate([out, target[..., colour:]], axis=2)
    return np.ascontiguousarray(out)


def _scale(h: int, w: int) -> float:
    """Line widths and blur radii grow with the picture so a sketch looks alike at 64 and 512 px."""
    return max(1.0, min(h, w) / 256.0)


def _luma(picture: np.ndarray) -> np.ndarray:
    if picture.shape[2] >= 3:
        rgb = picture[..., :3].astype(np.float32)
        return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return picture[..., 0].astype(np.float32)


def _replicate(grey: np.ndarray, channels: int) -> np.ndarray:
    return np.repeat(grey[..., None], channels, axis=2)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _blur(values: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of an HxW or HxWxC float array, edges reflected."""
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    out = values.astype(np.float32)
    for axis in (0, 1):
        n = out.shape[axis]
        # Reflect padding needs r < n; tiny pictures fall back to edge padding.
        pad_mode = "reflect" if r < n else "edge"
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r, r)
        padded = np.pad(out, pad, mode=pad_mode)
        acc = np.zeros_like(out)
        for i, weight in enumerate(k):
            acc += weight * np.take(padded, np.arange(i, i + n), axis=axis)
        out = acc
    return out


def _dog(grey: np.ndarray, sigma: float) -> np.ndarray:
    """Difference of Gaussians normalised by the picture's contrast, so faint and bold pictures give alike lines."""
    g1 = _blur(grey, sigma)
    g2 = _blur(grey, 1.6 * sigma)
    d = g1 - g2
    spread = float(np.percentile(np.abs(d), 99)) + 1e-3
    return d / max(spread, 4.0)  # a nearly flat picture stays nearly blank, not noise blown up


def edge_lines(grey: np.ndarray) -> np.ndarray:
    """Soft dark lines on white (uint8 HxW): the dark side of each edge, like a pencil sketch (XDoG)."""
    d = _dog(grey, 0.8 * _scale(*grey.shape))
    # Soft threshold: clearly negative responses (the darker side of an edge) become lines, the
    # rest white, with a tanh ramp between so strokes have anti-aliased, pressure-like edges.
    ink = np.clip(np.tanh(6.0 * (-d - 0.12)), 0.0, 1.0)
    return np.clip(np.rint(255.0 * (1.0 - ink)), 0, 255).astype(np.uint8)


def line_art(grey: np.ndarray) -> np.ndarray:
    """Binarised strokes thinned to one pixel (uint8 HxW, 0 ink / 255 paper), thickened with the picture's size."""
    ink = edge_lines(grey) < 160
    skeleton = _thin(ink)
    width = int(round(_scale(*grey.shape))) - 1
    for _ in range(width):
        skeleton = _dilate(skeleton)
    return np.where(skeleton, 0, 255).astype(np.uint8)


def _dilate(mask: np.ndarray) -> np.ndarray:
    p = np.pad(mask, 1)
    return p[1:-1, 1:-1] | p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]


def _thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning, vectorised: peel boundary pixels in two sub-steps until nothing changes."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p2 = img[:-2, 1:-1]
            p3 = img[:-2, 2:]
            p4 = img[1:-1, 2:]
            p5 = img[2:, 2:]
            p6 = img[2:, 1:-1]
            p7 = img[2:, :-2]
            p8 = img[1:-1, :-2]
            p9 = img[:-2, :-2]
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = sum(ring[:8])
            transitions = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.uint8) for i in range(8))
            if step == 0:
                c1 = (p2 * p4 * p6) == 0
                c2 = (p4 * p6 * p8) == 0
            else:
                c1 = (p2 * p4 * p8) == 0
                c2 = (p2 * p6 * p8) == 0
            centre = img[1:-1, 1:-1]
            remove = (centre == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & c1 & c2
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def _low_resolution(picture: np.ndarray, factor: int) -> np.ndarray:
    """Box-downsampled by `factor` and bicubic-upsampled back to the same size (the U-Net maps equal sizes)."""
    h, w, c = picture.shape
    small = (max(1, round(w / factor)), max(1, round(h / factor)))
    planes = []
    for ch in range(c):
        im = Image.fromarray(np.ascontiguousarray(picture[..., ch]), mode="L")
        planes.append(np.asarray(im.resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.BICUBIC)))
    return np.stack(planes, axis=2)


def _with_holes(picture: np.ndarray, seed: int) -> np.ndarray:
    """1-3 random rectangles and ellipses filled with flat grey; where they go depends on seed and picture."""
    h, w, _ = picture.shape
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(picture.tobytes())])
    out = picture.copy()
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(int(rng.integers(1, 4))):
        hh = max(1, int(h * rng.uniform(0.12, 0.35)))
        ww = max(1, int(w * rng.uniform(0.12, 0.35)))
        y0 = int(rng.integers(0, h - hh + 1))
        x0 = int(rng.integers(0, w - ww + 1))
        if rng.random() < 0.5:
            hole = (yy >= y0) & (yy < y0 + hh) & (xx >= x0) & (xx < x0 + ww)
        else:
            cy, cx = y0 + hh / 2, x0 + ww / 2
            hole = ((yy + 0.5 - cy) / (hh / 2)) ** 2 + ((xx + 0.5 - cx) / (ww / 2)) ** 2 <= 1.0
        out[hole] = HOLE_GREY
    return out


# ----- many pictures -----------------------------------------------------------------------------
def make_inputs(mode: str, targets: torch.Tensor, seed: int = TRAINING_SEED,
                should_cancel: Callable[[], bool] | None = None) -> torch.Tensor:
    """`make_input` for every row of uint8 (N, C, H, W) `targets`: uint8 (N, C, H, W)."""
    import torch

    out = torch.empty_like(targets)
    for i, target in enumerate(targets.numpy()):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        out[i] = torch.from_numpy(make_input(mode, target.transpose(1, 2, 0), seed).transpose(2, 0, 1).copy())
    return out


# ----- pairs on disk -----------------------------------------------------------------------------
def pair_key(path: str, folder: str) -> str:
    """What an input and its target share: the path relative to its folder, without extension."""
    try:
        rel = os.path.relpath(path, folder)
    except ValueError:  # another drive on Windows
        rel = os.path.basename(path)
    return Path(rel).with_suffix("").as_posix()


def match_by_name(inputs: ImageDataset, targets: ImageDataset) -> tuple[ImageDataset, ImageDataset]:
    """The pictures of the two datasets paired by `pair_key` (inputs in their order, targets
    reordered to match); every file without a partner is added to its report's skipped files.
    Matching matched datasets changes nothing. UserError when no file has a partner."""
    import torch

    def keyed(ds: ImageDataset) -> tuple[dict[str, int], list[tuple[str, str]]]:
        index: dict[str, int] = {}
        clashes = []
        for i, path in enumerate(ds.paths):
            key = pair_key(path, ds.report.folder)
            if key in index:
                first = os.path.basename(ds.paths[index[key]])
                clashes.append((path, f"another file has the same name without its extension ({first})"))
            else:
                index[key] = i
        return index, clashes

    a_index, a_clash = keyed(inputs)
    b_index, b_clash = keyed(targets)
    keys = [k for k in a_index if k in b_index]
    paired = set(keys)
    if not keys:
        a_eg = next(iter(a_index), "?")
        b_eg = next(iter(b_index), "?")
        raise UserError(f"No picture in {inputs.report.folder} has a partner of the same name in "
                        f"{targets.report.folder} (for example '{a_eg}' and '{b_eg}'): name each target "
                        "like its input, in the same sub-folder.")

    def kept(ds: ImageDataset, index: dict[str, int], clashes, other: ImageDataset, what: str) -> ImageDataset:
        rows = [index[k] for k in keys]
        lonely = [(ds.paths[i], f"no {what} of the same name in {other.report.folder}")
                  for k, i in index.items() if k not in paired]
        if not lonely and not clashes and rows == list(range(len(ds.paths))):
            return ds
        left_out = {p for p, _ in (*clashes, *lonely)}
        report = dataclasses.replace(ds.report, used=len(rows), skipped=[*ds.report.skipped, *clashes, *lonely],
                                     small=[x for x in ds.report.small if x[0] not in left_out])
        images = ds.images[torch.tensor(rows, dtype=torch.long)].contiguous()
        return dataclasses.replace(ds, images=images, paths=[ds.paths[i] for i in rows], report=report)

    return (kept(inputs, a_index, a_clash, targets, "target"), kept(targets, b_index, b_clash, inputs, "input"))


def split_side_by_side(picture: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The left (input) and right (target) halves of an input|target picture (HxWxC); an odd
    middle column belongs to neither."""
    half = picture.shape[1] // 2
    return picture[:, :half], picture[:, picture.shape[1] - half :]


def prepare_side_by_side(
    folder: str | os.PathLike,
    cfg: DataConfig,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ImageDataset:
    """Every usable input|target picture of `folder` as an ImageDataset whose images are uint8
    (N, 2C, size, size): the input's C channels, then the target's. Each half is fitted to
    `cfg.size` like any picture (crop or letterbox). Pictures too narrow to split are reported and
    skipped. Blocks: call from a worker thread; `progress(done, total)` between pictures."""
    import torch

    from studio.engine.data import decode as image_decode
    from studio.engine.data.dataset import ImageDataset, dataset_fingerprint, scan_folder
    from studio.engine.data.report import DatasetReport

    files = scan_folder(folder)
    root = str(Path(os.path.abspath(Path(folder).expanduser())))
    if not files:
        raise UserError(f"No images found in {root}.")
    rows, paths, skipped, small = [], [], [], []
    for done, path in enumerate(files, start=1):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        try:
            pixels, _ = image_decode.decode(path, mode=cfg.pil_mode, background=cfg.background, size=None, fit=cfg.fit)
        except image_decode.ImageDecodeError as e:
            skipped.append((str(path), str(e)))
        else:
            h, w = pixels.shape[:2]
            if w < 2 * 4 or w < h // 4:
                skipped.append((str(path), f"{w}x{h} px is too narrow to hold an input and a target side by side"))
            else:
                halves = []
                for half in split_side_by_side(pixels):
                    im = Image.fromarray(half[..., 0] if half.shape[2] == 1 else half)
                    halves.append(image_decode.fit_picture(im, mode=cfg.pil_mode, background=cfg.background,
                                                           size=cfg.size, fit=cfg.fit))
                rows.append(np.concatenate(halves, axis=2).transpose(2, 0, 1))
                paths.append(str(path))
                if w // 2 < cfg.size or h < cfg.size:
                    small.append((str(path), w // 2, h))
        if progress is not None:
            progress(done, len(files))
    report = DatasetReport(folder=root, used=len(paths), skipped=skipped, small=small, size=cfg.size)
    if not paths:
        reason = skipped[0][1] if skipped else "no pictures"
        raise UserError(f"No usable side-by-side picture in {root} ({os.path.basename(skipped[0][0])}: {reason}).")
    images = torch.from_numpy(np.ascontiguousarray(np.stack(rows)))
    return ImageDataset(images, paths, report, dataset_fingerprint(folder), cfg)
