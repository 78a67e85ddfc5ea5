"""Pix2pix networks (Isola et al. 2017): a U-Net generator with skip connections and the 70x70
PatchGAN discriminator, which judges (input, output) pairs.

Follows the reference (junyanz/pytorch-CycleGAN-and-pix2pix, `UnetGenerator`,
`UnetSkipConnectionBlock`) with its `--norm instance` choice: affine-free InstanceNorm, which
computes the same thing in training and inference (the reference's BatchNorm at batch 1, kept in
training mode at test time, is instance normalisation too) and lets the translate path share
whole-image statistics between tiles. Dropout (p = 0.5) in the decoder blocks next to the
bottleneck is the generator's only noise. The discriminator is the PatchGAN the CycleGAN
uses too (`studio/engine/models/patchgan.py`), on input and output stacked channel-wise.
"""

from __future__ import annotations

import torch
from torch import nn

from studio.engine.models.patchgan import NLayerDiscriminator, init_weights, norm_layer

__all__ = ["UnetGenerator", "NLayerDiscriminator", "init_weights", "unet_levels", "dropout_blocks"]

MAX_LEVELS = 8  # the reference's 256 px U-Net: 8 halvings down to a 1x1 bottleneck


def unet_levels(size: int) -> int:
    """Down/up levels for `size` px: as many halvings as divide the size (a 1x1 bottleneck at 64-256 px),
    at most 8 (512 px keeps a 2x2 bottleneck, as the reference's 8-level net at 512)."""
    levels = 0
    while levels < MAX_LEVELS and size % 2 ** (levels + 1) == 0:
        levels += 1
    return levels


def dropout_blocks(levels: int) -> int:
    """Decoder blocks with dropout next to the bottleneck: the reference's 3 at 8 levels, 2 at 7, 1 below."""
    return max(1, min(3, levels - 5))


class UnetBlock(nn.Module):
    """One level: down (conv stride 2), the inner levels, up (transposed conv stride 2); the level's
    input is concatenated to its output (the skip), except at the outermost level."""

    def __init__(self, outer: int, inner: int, sub: nn.Module | None = None, *, in_ch: int | None = None,
                 outermost: bool = False, dropout: bool = False):
        super().__init__()
        self.outermost = outermost
        in_ch = outer if in_ch is None else in_ch
        down_conv = nn.Conv2d(in_ch, inner, 4, stride=2, padding=1, bias=True)
        if outermost:  # pixels in, no activation or norm before the first conv; tanh out
            up_conv = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1)
            layers = [down_conv, sub, nn.ReLU(True), up_conv, nn.Tanh()]
        elif sub is None:  # innermost: the bottleneck, no norm on a 1x1 map
            up_conv = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=True)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up_conv, norm_layer(outer)]
        else:
            up_conv = nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=True)
            layers = [nn.LeakyReLU(0.2, True), down_conv, norm_layer(inner), sub, nn.ReLU(True), up_conv,
                      norm_layer(outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """G: (B, in_ch, H, W) in [-1, 1] -> (B, out_ch, H, W) in [-1, 1]; H, W multiples of 2**levels.

    Widths ngf, 2ngf, 4ngf, then 8ngf for every deeper level (the reference's unet_256 at 8 levels)."""

    def __init__(self, in_ch: int = 3, out_ch: int = 3, ngf: int = 64, levels: int = 8):
        super().__init__()
        if levels < 2:
            raise ValueError("a U-Net needs at least 2 levels")
        self.levels = levels
        self.in_channels = in_ch
        widths = [ngf * min(2**i, 8) for i in range(levels)]  # channels after each down step
        drop = dropout_blocks(levels)
        block = UnetBlock(widths[-2], widths[-1])  # innermost
        for i in range(levels - 2, 0, -1):  # the levels between, inside out
            block = UnetBlock(widths[i - 1], widths[i], block, dropout=(levels - 2 - i) < drop)
        self.model = UnetBlock(out_ch, widths[0], block, in_ch=in_ch, outermost=True)

    @property
    def multiple(self) -> int:
        return 2**self.levels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def bytes_per_pixel(ngf: int) -> float:
    """Peak memory of one inference pass per input pixel (fp32): the first levels dominate, each
    holding its input, output and the skip's concatenation; ~6 x ngf floats per pixel, doubled for slack."""
    return 2 * 6 * 4 * ngf
