"""Self-attention for convolutional GANs (SAGAN: Zhang, Goodfellow, Metaxas & Odena, 2019).

A convolution relates only neighbouring pixels; attention lets every position of a feature map
draw on every other one, so a generator can make distant parts agree (two eyes, a pair of wings,
two discs of the same colour in opposite corners). The block's output is `x + gamma * attention`,
with the learned `gamma` starting at 0: a new network trains as the plain one would and brings in
attention as it learns where it helps (the paper's choice).
"""

from __future__ import annotations

import torch
from torch import nn

# Feature maps above this side make the (HW x HW) attention matrix costly (32x32: 1,024 x 1,024
# per image); SAGAN's own ablation found 32x32 and 64x64 maps the most useful for 128 px images.
MAX_SIDE = 32


def attention_side(size: int) -> int:
    """The feature-map side the attention block works at for `size` px images: half the image,
    at most MAX_SIDE (the generator's last hidden map, the discriminator's first)."""
    return min(size // 2, MAX_SIDE)


class SelfAttention(nn.Module):
    """x (B, C, H, W) -> x + gamma * attention(x), same shape.

    Queries and keys have C/8 channels and values C/2 (as in the paper's released code), mapped back
    to C by a 1x1 convolution. `spectral_norm` wraps the four 1x1 convolutions (SAGAN normalises G
    and D throughout). Set `record = True` to keep the last attention map (B, HW, HW) in
    `last_map`, rows = the looking position, for showing where a pixel looks."""

    def __init__(self, channels: int, spectral_norm: bool = False):
        super().__init__()
        if channels < 8:
            raise ValueError(f"self-attention needs at least 8 channels, got {channels}")

        def conv(c_in: int, c_out: int) -> nn.Module:
            c = nn.Conv2d(c_in, c_out, 1, bias=False)
            return nn.utils.parametrizations.spectral_norm(c) if spectral_norm else c

        self.query = conv(channels, channels // 8)
        self.key = conv(channels, channels // 8)
        self.value = conv(channels, channels // 2)
        self.out = conv(channels // 2, channels)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.record = False
        self.last_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        k = self.key(x).flatten(2)  # (B, C/8, HW)
        v = self.value(x).flatten(2)  # (B, C/2, HW)
        attn = torch.softmax(torch.bmm(q, k), dim=-1)  # (B, HW, HW): row i = where position i looks
        if self.record:
            self.last_map = attn.detach()
        o = torch.bmm(v, attn.transpose(1, 2)).view(b, c // 2, h, w)  # (B, C/2, H, W)
        return x + self.gamma * self.out(o)
