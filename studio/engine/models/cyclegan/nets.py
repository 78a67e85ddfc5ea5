"""CycleGAN networks (Zhu, Park, Isola & Efros, 2017): ResNet generator and PatchGAN discriminator.

Follows the reference implementation (junyanz/pytorch-CycleGAN-and-pix2pix, `networks.py`):
reflection padding, InstanceNorm without affine parameters or running statistics (so train and
eval mode compute the same thing), convolution biases on (InstanceNorm has no shift), no dropout,
weights drawn from N(0, 0.02).

The generator downsamples twice by 2, so it maps an (H, W) image to an (H, W) image whenever H
and W are multiples of `Generator.MULTIPLE`; `studio.engine.explore.translate` pads other sizes.
"""

from __future__ import annotations

import torch
from torch import nn


def norm_layer(channels: int) -> nn.Module:
    # Instance statistics are computed per image at every call; `studio.engine.explore.translate`
    # swaps these modules for ones that can reuse whole-image statistics when an image is tiled.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), reflection-padded so the borders carry no zero frame."""

    def __init__(self, dim: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=True),
            norm_layer(dim),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3, bias=True),
            norm_layer(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """G: image (B, in_ch, H, W) in [-1, 1] -> image (B, out_ch, H, W) in [-1, 1]; H, W multiples of 4.

    c7s1-ngf, d2ngf, d4ngf, n_blocks x R4ngf, u2ngf, u-ngf, c7s1-out (the paper's notation):
    9 residual blocks for 256 px and above, 6 below."""

    MULTIPLE = 4  # H and W must be multiples of this (two stride-2 downsamplings)

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, n_blocks: int = 9):
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_ch, ngf, 7, bias=True),  # (B, ngf, H, W)
            norm_layer(ngf),
            nn.ReLU(True),
        ]
        for mult in (1, 2):  # (B, 2ngf, H/2, W/2), then (B, 4ngf, H/4, W/4)
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=True),
                norm_layer(ngf * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]  # (B, 4ngf, H/4, W/4)
        for mult in (4, 2):  # (B, 2ngf, H/2, W/2), then (B, ngf, H, W)
            layers += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=True),
                norm_layer(ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]  # (B, out_ch, H, W)
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN D: image (B, in_ch, H, W) -> real/fake scores (B, 1, H/8 - 2, W/8 - 2), one per patch.

    With n_layers=3 each score sees a 70x70 patch of the input (the paper's 70x70 PatchGAN).
    Scores are raw (no sigmoid): the LSGAN loss regresses them to 1 (real) and 0 (fake)."""

    def __init__(self, in_ch: int = 3, ndf: int = 64, n_layers: int = 3):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):  # 256 px: (B, 128, 64, 64), (B, 256, 32, 32)
            prev, mult = mult, min(2**n, 8)
            layers += [
                nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2, padding=1, bias=True),
                norm_layer(ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        prev, mult = mult, min(2**n_layers, 8)
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=True),  # 256 px: (B, 512, 31, 31)
            norm_layer(ndf * mult),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1),  # 256 px: (B, 1, 30, 30)
        ]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def init_weights(m: nn.Module) -> None:
    """The reference initialisation ('normal', gain 0.02): conv weights ~ N(0, 0.02), biases 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)


def receptive_field(n_layers: int = 3) -> int:
    """Side in pixels of the input patch each PatchGAN score sees (70 for n_layers=3)."""
    rf = 1
    for _ in range(2):  # the two stride-1 convolutions at the end, kernel 4
        rf += 3
    for _ in range(n_layers):  # stride-2 convolutions, kernel 4, walked back from the output
        rf = rf * 2 + 2
    return rf
