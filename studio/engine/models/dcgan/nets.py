"""DCGAN generator and discriminator (Radford, Metz & Chintala, 2015).

Strided (transposed) convolutions, BatchNorm, ReLU + Tanh in G, LeakyReLU(0.2) in D,
weights drawn from N(0, 0.02). Generalised from the paper's 64 px to 32-256 px by adding or
removing one up/down-sampling block per factor of two; widths are capped at 8x ngf/ndf so a
256 px model stays laptop-sized.
"""

from __future__ import annotations

import math

import torch
from torch import nn

SIZES = (32, 64, 128, 256)
_MAX_MULT = 8


def _levels(size: int) -> int:
    if size not in SIZES:
        raise ValueError(f"DCGAN size must be one of {SIZES}, got {size}")
    return int(math.log2(size)) - 2  # number of x2 steps between 4x4 and size x size


class Generator(nn.Module):
    """G: z (B, z_dim) or (B, z_dim, 1, 1) -> image (B, channels, size, size) in [-1, 1]."""

    def __init__(self, size: int = 64, z_dim: int = 100, ngf: int = 64, channels: int = 3):
        super().__init__()
        self.z_dim = z_dim
        n = _levels(size)  # 64 px: 4 -> 8 -> 16 -> 32 -> 64, n = 4
        widths = [ngf * min(2 ** (n - 1 - i), _MAX_MULT) for i in range(n)]  # 64 px: 512, 256, 128, 64
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=False),  # (B, w0, 4, 4)
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for w_in, w_out in zip(widths[:-1], widths[1:]):  # each block doubles H and W
            layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), nn.BatchNorm2d(w_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]  # (B, C, size, size)
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.ndim == 2:
            z = z[:, :, None, None]
        return self.main(z)


class Discriminator(nn.Module):
    """D: image (B, channels, size, size) -> one real/fake logit per image (B,)."""

    def __init__(self, size: int = 64, ndf: int = 64, channels: int = 3, spectral_norm: bool = False):
        super().__init__()
        n = _levels(size)
        widths = [ndf * min(2**i, _MAX_MULT) for i in range(n)]  # 64 px: 64, 128, 256, 512
        # Spectral normalisation replaces BatchNorm (Miyato et al. 2018): it bounds D's Lipschitz
        # constant per layer, and mixing both makes D depend on batch composition again.
        conv = (lambda *a: nn.utils.parametrizations.spectral_norm(nn.Conv2d(*a, bias=False))) if spectral_norm \
            else (lambda *a: nn.Conv2d(*a, bias=False))
        layers: list[nn.Module] = [conv(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths[:-1], widths[1:]):  # each block halves H and W, down to 4x4
            norm = nn.Identity() if spectral_norm else nn.BatchNorm2d(w_out)
            layers += [conv(w_in, w_out, 4, 2, 1), norm, nn.LeakyReLU(0.2, True)]
        layers += [conv(widths[-1], 1, 4, 1, 0)]  # (B, 1, 1, 1)
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).flatten()  # logits; the loss applies the sigmoid stably


def init_weights(m: nn.Module) -> None:
    """The paper's initialisation: conv ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        if nn.utils.parametrize.is_parametrized(m, "weight"):
            nn.init.normal_(m.parametrizations.weight.original, 0.0, 0.02)
        else:
            nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
