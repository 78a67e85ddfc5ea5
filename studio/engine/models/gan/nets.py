"""The original GAN's fully connected generator and discriminator (Goodfellow et al. 2014).

Both networks see an image only as one flat vector of C*H*W values: no convolutions, so nothing
tells them which pixels are neighbours, which is why the model tops out at small sizes (28-64 px).
As in the paper, D regularises itself with dropout on every hidden layer and may use maxout units.
G differs from the paper's in one respect: BatchNorm between its layers (Ioffe & Szegedy 2015, as
the DCGAN paper and the common fully connected GAN baselines use it), for quick training on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from studio.engine.models.gan.kind import SIZES


def check_size(size: int) -> None:
    if size not in SIZES:
        raise ValueError(f"GAN size must be one of {SIZES}, got {size}")


class Generator(nn.Module):
    """G: z (B, z_dim) -> image (B, channels, size, size) in [-1, 1].

    Hidden widths double from `width` (z -> w -> 2w -> 4w -> C*size*size), as in the common
    fully connected GAN baselines; the last layer is the big one (4w x C*size*size weights)."""

    def __init__(self, size: int = 32, z_dim: int = 100, width: int = 128, channels: int = 3):
        super().__init__()
        check_size(size)
        self.z_dim, self.size, self.channels = z_dim, size, channels
        widths = [z_dim, width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for w_in, w_out in zip(widths[:-1], widths[1:]):  # (B, w_in) -> (B, w_out)
            layers += [nn.Linear(w_in, w_out, bias=False), nn.BatchNorm1d(w_out), nn.LeakyReLU(0.2, True)]
        layers += [nn.Linear(widths[-1], channels * size * size), nn.Tanh()]  # (B, C*H*W)
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z.flatten(1)).view(-1, self.channels, self.size, self.size)  # (B, C, H, W)


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): each output is the max of `pieces` linear functions."""

    def __init__(self, n_in: int, n_out: int, pieces: int):
        super().__init__()
        self.n_out, self.pieces = n_out, pieces
        self.linear = nn.Linear(n_in, n_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(-1, self.n_out, self.pieces).amax(dim=2)  # (B, n_out)


class Discriminator(nn.Module):
    """D: image (B, channels, size, size) -> one real/fake logit per image (B,).

    Flattened input -> 2 hidden layers (2w, w) of LeakyReLU(0.2) or maxout units, each followed by
    dropout -> one logit. `forward(x, uniform)` builds the dropout masks from `uniform(shape)`,
    uniform [0, 1) noise the trainer draws from the run's own generator, so that a checkpoint
    resumes training bit-exactly; without it dropout uses torch's global generator like nn.Dropout."""

    def __init__(self, size: int = 32, width: int = 128, channels: int = 3, dropout: float = 0.3,
                 maxout_pieces: int = 0):
        super().__init__()
        check_size(size)
        self.dropout = dropout
        widths = [channels * size * size, 2 * width, width]
        if maxout_pieces > 1:
            self.hidden = nn.ModuleList(Maxout(a, b, maxout_pieces) for a, b in zip(widths[:-1], widths[1:]))
        else:
            self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.maxout = maxout_pieces > 1
        self.out = nn.Linear(widths[-1], 1)

    def forward(self, x: torch.Tensor, uniform: Callable[[torch.Size], torch.Tensor] | None = None) -> torch.Tensor:
        h = x.flatten(1)  # (B, C*H*W)
        for layer in self.hidden:
            h = layer(h)
            if not self.maxout:
                h = F.leaky_relu(h, 0.2)
            h = self._drop(h, uniform)  # (B, 2w), then (B, w)
        return self.out(h).flatten()  # logits; the loss applies the sigmoid stably

    def _drop(self, h: torch.Tensor, uniform: Callable[[torch.Size], torch.Tensor] | None) -> torch.Tensor:
        if not self.training or self.dropout <= 0:
            return h
        if uniform is None:
            return F.dropout(h, self.dropout, True)
        keep = uniform(h.shape) >= self.dropout
        return h * keep.to(h.device, h.dtype) * (1.0 / (1.0 - self.dropout))
