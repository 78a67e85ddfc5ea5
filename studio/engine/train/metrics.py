"""Distribution statistics that need no downloaded weights.

`swd` is the sliced Wasserstein distance between local patches of two image sets on a
Laplacian pyramid (Karras et al., 2018, "Progressive Growing of GANs", appendix D): it compares
the distributions of colours and textures at several scales, so a model that learns the data
drives it down, and mode collapse keeps it up. Reported x1e3 as in the paper.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

_BLUR = torch.tensor([1, 4, 6, 4, 1], dtype=torch.float32)


def _blur(x: torch.Tensor) -> torch.Tensor:
    k = (_BLUR[:, None] * _BLUR[None, :]) / 256.0
    k = k.to(x)[None, None].repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass images, finest first, then the low-pass residual (min side >= 8 px)."""
    out = []
    for _ in range(levels - 1):
        if min(x.shape[-2:]) < 16:
            break
        down = _blur(x)[:, :, ::2, ::2]
        up = F.interpolate(down, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out.append(x - up)
        x = down
    out.append(x)
    return out


def _patches(x: torch.Tensor, n: int, size: int, g: torch.Generator) -> torch.Tensor:
    b, c, h, w = x.shape
    size = min(size, h, w)
    i = torch.randint(0, b, (n,), generator=g)
    y = torch.randint(0, h - size + 1, (n,), generator=g)
    xx = torch.randint(0, w - size + 1, (n,), generator=g)
    rows = (y[:, None] + torch.arange(size)[None])  # (n, size)
    cols = (xx[:, None] + torch.arange(size)[None])
    p = x[i[:, None, None, None], torch.arange(c)[None, :, None, None], rows[:, None, :, None], cols[:, None, None, :]]
    return p.reshape(n, -1)


def _as_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(images)
    if t.ndim == 4 and t.shape[-1] in (1, 3, 4) and t.shape[1] not in (1, 3, 4):
        t = t.permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)
    return t.float() / 255.0 if t.dtype == torch.uint8 else t.float()


def swd(
    a: np.ndarray | torch.Tensor,
    b: np.ndarray | torch.Tensor,
    *,
    patches: int = 4096,
    patch_size: int = 7,
    projections: int = 128,
    levels: int = 3,
    seed: int = 0,
) -> float:
    """Sliced Wasserstein distance (x1e3, averaged over pyramid levels) between two image sets.

    `a`, `b`: uint8 (B, H, W, C) or (B, C, H, W), or float tensors in [0, 1]. Deterministic for a seed."""
    g = torch.Generator().manual_seed(seed)
    pa, pb = laplacian_pyramid(_as_float(a), levels), laplacian_pyramid(_as_float(b), levels)
    dists = []
    for la, lb in zip(pa, pb):
        xa, xb = _patches(la, patches, patch_size, g), _patches(lb, patches, patch_size, g)
        # normalise each level by the pooled statistics so every scale counts alike
        mean = torch.cat([xa, xb]).mean(0, keepdim=True)
        std = torch.cat([xa, xb]).std(0, keepdim=True) + 1e-8
        xa, xb = (xa - mean) / std, (xb - mean) / std
        dirs = torch.randn(xa.shape[1], projections, generator=g)
        dirs /= dirs.norm(dim=0, keepdim=True)
        sa, _ = torch.sort(xa @ dirs, dim=0)
        sb, _ = torch.sort(xb @ dirs, dim=0)
        dists.append((sa - sb).abs().mean().item())
    return float(np.mean(dists) * 1e3)
