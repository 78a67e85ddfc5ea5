"""Class conditioning shared by the kinds that learn from sub-folder classes.

The generator takes a class as an index (B,) or as weights over the classes (B, num_classes):
one-hot weights are a class, mixed weights a point on the way between classes ("moth ->
butterfly"), which is how the explorer interpolates and does arithmetic across classes. Either
way the class becomes a learned embedding (`ClassEmbedding`), a linear map of the weights, so a
mix of classes is the same mix of their embeddings.

The discriminator is a projection discriminator (Miyato & Koyama 2018): its logit is the plain
real/fake logit plus the inner product of a learned class embedding with its pooled features,
which asks "is this a real picture of class y" rather than feeding y in as an extra input.
"""

from __future__ import annotations

import torch
from torch import nn


def class_weights(c: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices (B,) or class weights (B, num_classes) -> float weights (B, num_classes)."""
    if c.ndim == 1:
        if c.dtype.is_floating_point:
            raise ValueError("class indices must be whole numbers")
        return nn.functional.one_hot(c.long(), num_classes).float()
    if c.ndim != 2 or c.shape[1] != num_classes:
        raise ValueError(f"class weights must be (B, {num_classes}), got {tuple(c.shape)}")
    return c.float()


class ClassEmbedding(nn.Module):
    """A learned vector per class: (B,) indices or (B, num_classes) weights -> (B, dim)."""

    def __init__(self, num_classes: int, dim: int):
        super().__init__()
        self.num_classes = num_classes
        self.weight = nn.Parameter(torch.randn(num_classes, dim))

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return class_weights(c, self.num_classes).to(self.weight) @ self.weight


class Projection(nn.Module):
    """The class term of a projection discriminator: <embed(y), features> per image (B,)."""

    def __init__(self, num_classes: int, features: int):
        super().__init__()
        self.embed = ClassEmbedding(num_classes, features)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)  # starts near the plain discriminator

    def forward(self, features: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return (self.embed(c).to(features.dtype) * features).sum(1)

