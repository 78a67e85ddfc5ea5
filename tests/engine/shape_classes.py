"""Three shape classes (discs, lying bars, standing bars) for the conditional-generation tests, and a
small CNN that tells them apart. A test helper (not a test file).

Colour, size and place are random in every class, so only the shape tells the classes apart: a
generator that draws the requested class has learned the shape, not a colour. The shapes differ
in their coarse layout (round, wide, tall), which a tiny GAN learns in the ~150 steps a unit test
affords; finer outlines (squares against discs) take a few hundred more.

    images = shapes(200, SHAPES.index("lying"), seed=1)     # uint8 (N, 32, 32, 3)
    write_class_folders(tmp_path, {"disc": 60, "lying": 60})  # sub-folders of PNGs
    clf = train_shape_classifier()                          # ~2-5 s on one thread, cached per process
    probs = class_probabilities(clf, uint8_images)          # (N, 3)
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import nn

from studio.engine.data.procedural import write_folder

SHAPES = ("disc", "lying", "standing")


def shapes(count: int, cls: int, seed: int, size: int = 32) -> np.ndarray:
    """`count` pictures of shape class `cls`: uint8 (N, size, size, 3), dark shapes on light grey."""
    rng = np.random.default_rng([seed, cls])
    out = np.empty((count, size, size, 3), np.uint8)
    s = size * 4  # drawn at 4x and downsampled: anti-aliased edges
    for i in range(count):
        im = Image.new("RGB", (s, s), (235, 235, 235))
        draw = ImageDraw.Draw(im)
        fill = tuple(int(v) for v in rng.integers(0, 160, 3))
        if cls == 0:
            r = rng.uniform(0.22, 0.35) * s
            cx, cy = rng.uniform(r, s - r, 2)
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
        else:
            long, short = rng.uniform(0.3, 0.45) * s, rng.uniform(0.08, 0.14) * s  # half sides
            hw, hh = (long, short) if cls == 1 else (short, long)
            cx, cy = rng.uniform(hw, s - hw), rng.uniform(hh, s - hh)
            draw.rectangle([cx - hw, cy - hh, cx + hw, cy + hh], fill=fill)
        out[i] = np.asarray(im.resize((size, size), Image.Resampling.BOX))
    return out


def labelled_set(per_class: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Every class, `per_class` each: images uint8 (N, 3, 32, 32) and labels (N,)."""
    x = np.concatenate([shapes(per_class, k, seed) for k in range(len(SHAPES))])
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), torch.arange(len(SHAPES)).repeat_interleave(per_class)


def write_class_folders(root: Path, counts: dict[str, int], seed: int = 0) -> Path:
    """A folder with one sub-folder per class name in `counts` holding that many shapes (of the
    class of the same name, or discs for other names)."""
    for name, n in counts.items():
        cls = SHAPES.index(name) if name in SHAPES else 0
        write_folder(shapes(n, cls, seed), Path(root) / name)
    return Path(root)


@functools.cache
def train_shape_classifier(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    clf = nn.Sequential(
        nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(),  # (B, 16, 16, 16)
        nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),  # (B, 32, 8, 8)
        nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU(),  # (B, 32, 4, 4)
        nn.Flatten(), nn.Linear(32 * 16, len(SHAPES)),
    )
    x, y = labelled_set(300, seed=1000 + seed)
    x = x.float() / 127.5 - 1
    opt = torch.optim.Adam(clf.parameters(), 2e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(250):
        idx = torch.randint(0, len(x), (64,), generator=g)
        xb = x[idx] + 0.1 * torch.randn(x[idx].shape, generator=g)  # GAN samples are a little noisy
        loss = nn.functional.cross_entropy(clf(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return clf.eval()


@torch.no_grad()
def class_probabilities(clf: nn.Module, images: np.ndarray) -> np.ndarray:
    """uint8 (N, 32, 32, 3) -> class probabilities (N, 3)."""
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return torch.softmax(clf(x), 1).numpy()
