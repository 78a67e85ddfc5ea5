"""DiffAugment: differentiable, reproducible from the generator, and really transforming."""

import pytest
import torch

from studio.engine.train.augment import diff_augment


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_diffaugment_is_differentiable_and_reproducible(channels):
    x = (torch.rand(6, channels, 16, 16) * 2 - 1).requires_grad_(True)
    a = diff_augment(x, torch.Generator().manual_seed(1))
    b = diff_augment(x, torch.Generator().manual_seed(1))
    c = diff_augment(x, torch.Generator().manual_seed(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    a.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_each_transform_does_its_job():
    x = torch.full((64, 3, 16, 16), 0.5)
    g = torch.Generator().manual_seed(0)
    cut = diff_augment(x, g, ("cutout",))
    zero_frac = (cut == 0).float().mean().item()
    assert 0.1 < zero_frac < 0.4  # a half-size square, sometimes hanging over the border
    shifted = diff_augment(x, g, ("translation",))
    assert ((shifted == 0).flatten(1).any(1)).float().mean() > 0.5  # most images moved (zero border shows)
    col = diff_augment(x, g, ("color",))
    assert col.mean(dim=(1, 2, 3)).std() > 0.05  # brightness varies per image
