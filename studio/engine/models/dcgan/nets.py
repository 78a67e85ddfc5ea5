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

from studio.engine.models.attention import SelfAttention, attention_side
from studio.engine.models.conditioning import ClassEmbedding, Projection

SIZES = (32, 64, 128, 256)
_MAX_MULT = 8


def _levels(size: int) -> int:
    if size not in SIZES:
        raise ValueError(f"DCGAN size must be one of {SIZES}, got {size}")
    return int(math.log2(size)) - 2  # number of x2 steps between 4x4 and size x size


class Generator(nn.Module):
    """G: z (B, z_dim) or (B, z_dim, 1, 1) -> image (B, channels, size, size) in [-1, 1].

    With `num_classes` > 0 it is conditional: `forward(z, c)` takes the class as indices (B,) or
    weights (B, num_classes) (models/conditioning.py), and every BatchNorm becomes a conditional one
    whose scale and shift are the class's (SNGAN / BigGAN's conditional BatchNorm). The class shapes
    the picture at every resolution while z keeps the whole first layer: concatenating an embedding
    to z instead (measured here) let G draw one picture per class whatever z said (samples of a
    class spread 0.11x as much as the class's images after 200 steps; 0.39x unconditional). Without
    `c` a conditional G draws class 0. `attention` adds a SAGAN self-attention block at the last
    hidden feature map (at most 32x32); `spectral_norm` wraps its convolutions (the SAGAN recipe)."""

    def __init__(self, size: int = 64, z_dim: int = 100, ngf: int = 64, channels: int = 3,
                 num_classes: int = 0, attention: bool = False, spectral_norm: bool = False):
        super().__init__()
        self.z_dim = z_dim
        self.num_classes = num_classes
        n = _levels(size)  # 64 px: 4 -> 8 -> 16 -> 32 -> 64, n = 4
        widths = [ngf * min(2 ** (n - 1 - i), _MAX_MULT) for i in range(n)]  # 64 px: 512, 256, 128, 64
        sn = nn.utils.parametrizations.spectral_norm if spectral_norm else (lambda m: m)

        def norm(c: int) -> nn.Module:
            return ConditionalBatchNorm2d(c, num_classes) if num_classes else nn.BatchNorm2d(c)

        layers: list[nn.Module] = [
            sn(nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=False)),  # (B, w0, 4, 4)
            norm(widths[0]),
            nn.ReLU(True),
        ]
        side = 4
        for w_in, w_out in zip(widths[:-1], widths[1:]):  # each block doubles H and W
            layers += [sn(nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False)), norm(w_out), nn.ReLU(True)]
            side *= 2
            if attention and side == attention_side(size):
                layers.append(SelfAttention(w_out, spectral_norm=spectral_norm))
        layers += [sn(nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False)), nn.Tanh()]  # (B, C, size, size)
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if z.ndim == 2:
            z = z[:, :, None, None]
        if not self.num_classes:
            return self.main(z)
        if c is None:
            c = z.new_zeros(z.shape[0], dtype=torch.long)  # traced with the batch size, for ONNX
        c = c.to(z.device)
        x = z
        for layer in self.main:
            x = layer(x, c) if isinstance(layer, ConditionalBatchNorm2d) else layer(x)
        return x


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without its own scale and shift, then the class's: x_hat * (1 + gain(c)) + bias(c)."""

    def __init__(self, features: int, num_classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(features, affine=False)
        self.gain = ClassEmbedding(num_classes, features)
        self.bias = ClassEmbedding(num_classes, features)
        # Classes differ from the first step (zero, as BigGAN starts, left the projection critic
        # nothing to grip: 33% of samples were the asked class at step 300, 78% from these)
        nn.init.normal_(self.gain.weight, 0.0, 0.5)
        nn.init.normal_(self.bias.weight, 0.0, 1.0)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gain, bias = self.gain(c).to(x.dtype), self.bias(c).to(x.dtype)
        return self.bn(x) * (1 + gain[:, :, None, None]) + bias[:, :, None, None]


class Discriminator(nn.Module):
    """D: image (B, channels, size, size) -> one real/fake logit per image (B,).

    With `num_classes` > 0, `forward(x, c)` adds the projection term of Miyato & Koyama (2018):
    the inner product of the class's embedding with D's features summed over the last 4x4 map.
    `attention` adds a SAGAN self-attention block after the first downsampling (at most 32x32)."""

    def __init__(self, size: int = 64, ndf: int = 64, channels: int = 3, spectral_norm: bool = False,
                 num_classes: int = 0, attention: bool = False, bias: bool = False):
        super().__init__()
        self.num_classes = num_classes
        n = _levels(size)
        widths = [ndf * min(2**i, _MAX_MULT) for i in range(n)]  # 64 px: 64, 128, 256, 512
        # Spectral normalisation replaces BatchNorm (Miyato et al. 2018): it bounds D's Lipschitz
        # constant per layer, and mixing both makes D depend on batch composition again.
        conv = (lambda *a: nn.utils.parametrizations.spectral_norm(nn.Conv2d(*a, bias=bias))) if spectral_norm \
            else (lambda *a: nn.Conv2d(*a, bias=bias))
        layers: list[nn.Module] = [conv(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        side = size // 2
        if attention and side == attention_side(size):
            layers.append(SelfAttention(widths[0], spectral_norm=spectral_norm))
        for w_in, w_out in zip(widths[:-1], widths[1:]):  # each block halves H and W, down to 4x4
            norm = nn.Identity() if spectral_norm else nn.BatchNorm2d(w_out)
            layers += [conv(w_in, w_out, 4, 2, 1), norm, nn.LeakyReLU(0.2, True)]
            side //= 2
            if attention and side == attention_side(size):
                layers.append(SelfAttention(w_out, spectral_norm=spectral_norm))
        layers += [conv(widths[-1], 1, 4, 1, 0)]  # (B, 1, 1, 1)
        self.main = nn.Sequential(*layers)
        if num_classes:
            self.projection = Projection(num_classes, widths[-1])

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None,
                class_logits: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Logits (B,); with `class_logits` also the class terms under every class (B, num_classes),
        for the trainer's class loss (the shared real/fake term cancels out of a softmax over them)."""
        if not self.num_classes:
            return self.main(x).flatten()  # logits; the loss applies the sigmoid stably
        h = self.main[:-1](x)  # (B, w, 4, 4)
        if c is None:
            raise ValueError("a conditional discriminator needs the images' classes")
        pooled = h.sum((2, 3))
        logit = self.main[-1](h).flatten() + self.projection(pooled, c)
        if not class_logits:
            return logit
        return logit, pooled @ self.projection.embed.weight.to(pooled.dtype).t()


def init_weights(m: nn.Module) -> None:
    """The paper's initialisation: conv ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        if nn.utils.parametrize.is_parametrized(m, "weight"):
            nn.init.normal_(m.parametrizations.weight.original, 0.0, 0.02)
        else:
            nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d) and m.affine:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
