"""The 70x70 PatchGAN discriminator (Isola et al. 2017; the CycleGAN's and pix2pix's D) and what it
shares with both kinds' generators: the reference's affine-free InstanceNorm and its N(0, 0.02)
initialisation.

Follows junyanz/pytorch-CycleGAN-and-pix2pix (`networks.py`: `NLayerDiscriminator`, `--norm
instance`, `init_type normal`). Kept here, beside the kinds, so neither kind's folder is imported
for the other's sake; module names (`model.N`) are the reference's, which checkpoints store.
"""

from __future__ import annotations

import torch
from torch import nn


def norm_layer(channels: int) -> nn.Module:
    # Instance statistics are computed per image at every call; `studio.engine.explore.translate`
    # swaps these modules for ones that can reuse whole-image statistics when an image is tiled.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


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
