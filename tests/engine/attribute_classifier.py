"""A small CNN that reads the procedural faces: is it a face, and does it wear glasses, have long
hair, smile? A test helper (not a test file): tests of the demo DCGAN use it to check that samples
are faces with decodable attributes and that latent arithmetic moves the attributes it should.

    model = train_classifier(size=32, seed=0)      # ~10-40 s on one CPU thread, cached per process
    probs = predict(model, uint8_images)           # {"face": (N,), "glasses": (N,), ...} in [0, 1]

Trained only on procedural data, drawn on the fly by seed: no files, no downloads. The "face" head
learns faces against noise, smooth colour fields, discs, landscapes and faces whose patches are
shuffled (every colour of a face, none of its layout), so it answers "is this laid out like a face".
Training uses light noise, blur and shifts so that slightly soft GAN samples still read.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio.engine.data.demo_sets import BINARY_ATTRIBUTES, binary_attributes, faces, scenes
from studio.engine.data.procedural import discs

HEADS = ("face",) + BINARY_ATTRIBUTES  # face, glasses, long_hair, smile
INPUT = 32  # the network sees every picture at 32 px (larger ones are area-downsampled)


class AttributeNet(nn.Module):
    """(B, 3, 32, 32) in [-1, 1] -> (B, 4) logits, one per HEADS entry."""

    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(True),  # (B, w, 16, 16)
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.BatchNorm2d(2 * w), nn.ReLU(True),  # (B, 2w, 8, 8)
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.BatchNorm2d(4 * w), nn.ReLU(True),  # (B, 4w, 4, 4)
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * 16, 64), nn.ReLU(True), nn.Linear(64, len(HEADS)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _to_input(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, 32, 32) in [-1, 1]."""
    x = torch.as_tensor(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1)
    if x.shape[-1] != INPUT:
        x = F.interpolate(x, size=(INPUT, INPUT), mode="area")
    return x


def _shuffled_patches(images: np.ndarray, rng: np.random.Generator, grid: int = 4) -> np.ndarray:
    """Each picture cut into grid x grid tiles put back in a random order."""
    n, h, w, c = images.shape
    ph, pw = h // grid, w // grid
    tiles = images[:, : ph * grid, : pw * grid].reshape(n, grid, ph, grid, pw, c).transpose(0, 1, 3, 2, 4, 5)
    tiles = tiles.reshape(n, grid * grid, ph, pw, c)
    out = np.empty_like(tiles)
    for i in range(n):
        out[i] = tiles[i, rng.permutation(grid * grid)]
    return out.reshape(n, grid, grid, ph, pw, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, ph * grid, pw * grid, c)


def _negatives(count: int, size: int, seed: int) -> np.ndarray:
    """Pictures that are not faces: noise, smooth colour fields, discs, landscapes, shuffled faces."""
    rng = np.random.default_rng(seed)
    k = count // 5
    noise = rng.integers(0, 256, (k, size, size, 3), dtype=np.uint8)
    coarse = torch.from_numpy(rng.uniform(0, 255, (k, 3, 4, 4)).astype(np.float32))
    smooth = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    smooth = smooth.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    blobs = discs(k, size, seed=seed + 1)
    day, night = scenes(k // 2 + 1, size, seed=seed + 2)
    land = np.concatenate([day, night])[:k]
    shuffled = _shuffled_patches(faces(count - 4 * k, size, seed=seed + 3)[0], rng)
    return np.concatenate([noise, smooth, blobs, land, shuffled])


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Flips, shifts of up to 2 px, light blur and noise: what separates GAN samples from drawings."""
    n = len(x)
    flip = torch.rand(n, generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=g))
    x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    blur = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    amount = torch.rand(n, 1, 1, 1, generator=g) * 0.4
    x = x * (1 - amount) + blur * amount
    return x + torch.randn(x.shape, generator=g) * 0.04


@functools.lru_cache(maxsize=4)
def train_classifier(size: int = 32, seed: int = 0, faces_count: int = 2000, epochs: int = 10) -> AttributeNet:
    """Train the classifier on procedural faces drawn at `size` px (and as many non-faces).

    Deterministic for a seed; cached per process (treat the returned model as read-only)."""
    pos, labels = faces(faces_count, size, seed=10_000 + seed)
    neg = _negatives(faces_count, size, seed=20_000 + seed)
    x = torch.cat([_to_input(pos), _to_input(neg)])
    attrs = torch.from_numpy(binary_attributes(labels))
    y = torch.cat([torch.cat([torch.ones(len(pos), 1), attrs], 1), torch.zeros(len(neg), len(HEADS))])
    is_face = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))])

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AttributeNet()
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    batch = 64
    steps = epochs * (len(x) // batch)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)  # settles BatchNorm statistics at the end
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x) - batch + 1, batch):
            idx = order[i : i + batch]
            logits = model(_augment(x[idx], g))
            loss_face = F.binary_cross_entropy_with_logits(logits[:, 0], y[idx, 0])
            # Attributes are only defined on faces: mask them out on the negatives.
            per = F.binary_cross_entropy_with_logits(logits[:, 1:], y[idx, 1:], reduction="none").mean(1)
            mask = is_face[idx]
            loss_attr = (per * mask).sum() / mask.sum().clamp(min=1)
            opt.zero_grad(set_to_none=True)
            (loss_face + loss_attr).backward()
            opt.step()
            sched.step()
    model.eval().requires_grad_(False)
    return model


@torch.inference_mode()
def predict(model: AttributeNet, images: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 (N, H, W, 3) pictures -> {head name: probabilities (N,)} for HEADS."""
    probs = torch.cat([torch.sigmoid(model(_to_input(c))) for c in np.array_split(images, max(1, len(images) // 256))])
    return {name: probs[:, i].numpy() for i, name in enumerate(HEADS)}
