"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for data-efficient GAN training.

The same random colour / translation / cutout transforms are applied to real AND generated
images before D sees them; because they are differentiable, G still gets useful gradients, and
D cannot memorise a small collection. All randomness comes from the caller's torch.Generator so
training stays exactly resumable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from studio.engine.config import SMALL_DATASET  # noqa: F401 - re-exported: below it D overfits without augmentation

DEFAULT_POLICY = ("color", "translation", "cutout")


def _rand(shape, g: torch.Generator, device) -> torch.Tensor:
    return torch.rand(shape, generator=g).to(device)


def _color(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    b, dev = x.shape[0], x.device
    x = x + (_rand((b, 1, 1, 1), g, dev) - 0.5)  # brightness
    if x.shape[1] >= 3:  # saturation and contrast need colour channels
        rgb = x[:, :3]
        mean = rgb.mean(dim=1, keepdim=True)
        rgb = (rgb - mean) * (_rand((b, 1, 1, 1), g, dev) * 2) + mean
        x = torch.cat([rgb, x[:, 3:]], dim=1)
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand((b, 1, 1, 1), g, dev) + 0.5) + mean


def _translation(x: torch.Tensor, g: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (b, 1, 1), generator=g).to(x.device)
    tx = torch.randint(-sw, sw + 1, (b, 1, 1), generator=g).to(x.device)
    gb, gy, gx = torch.meshgrid(
        torch.arange(b, device=x.device), torch.arange(h, device=x.device), torch.arange(w, device=x.device),
        indexing="ij",
    )
    gy = torch.clamp(gy + ty + 1, 0, h + 1)
    gx = torch.clamp(gx + tx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])  # zeros outside the image
    return padded.permute(0, 2, 3, 1)[gb, gy, gx].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, g: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=g).to(x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=g).to(x.device)
    top, left = oy - ch // 2, ox - cw // 2  # the box may hang over the border, as in the reference code
    gy = torch.arange(h, device=x.device)[None, :, None]
    gx = torch.arange(w, device=x.device)[None, None, :]
    inside = (gy >= top) & (gy < top + ch) & (gx >= left) & (gx < left + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": _color, "translation": _translation, "cutout": _cutout}


def diff_augment(x: torch.Tensor, g: torch.Generator, policy: tuple[str, ...] = DEFAULT_POLICY) -> torch.Tensor:
    """Apply the policy's transforms to a batch (B, C, H, W) in [-1, 1]; differentiable w.r.t. x."""
    for name in policy:
        x = _OPS[name](x, g)
    return x
