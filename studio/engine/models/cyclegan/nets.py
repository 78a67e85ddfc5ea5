"""CycleGAN networks (Zhu, Park, Isola & Efros, 2017): ResNet generator; its discriminator is the
PatchGAN shared with pix2pix (`studio/engine/models/patchgan.py`).

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

from studio.engine.models.patchgan import NLayerDiscriminator, init_weights, norm_layer, receptive_field

__all__ = ["ResnetBlock", "ResnetGenerator", "NLayerDiscriminator", "init_weights", "norm_layer", "receptive_field"]


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
