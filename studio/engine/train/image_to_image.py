"""What the image-to-image trainers (CycleGAN, pix2pix) share: the reference recipe's jitter and
schedule (the checkpoint reading every trainer shares is in train/run_state.py).

Both follow junyanz/pytorch-CycleGAN-and-pix2pix: pictures are decoded ~1.12x larger than the
training crop and each step cuts a random crop and flips it at random; the learning rate is
constant for the first part of the run and then decays linearly to zero. Kept here, below the
kinds, so that neither kind's folder is imported for the other's sake.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def load_size_for(size: int) -> int:
    """Side the images are decoded at before random cropping to `size`: ~1.12x (reference: 286 for 256),
    rounded to a multiple of 4."""
    return max(size, int(round(size * 1.12 / 4)) * 4)


def lr_factor(step: int, total_steps: int, decay_start: float = 0.5) -> float:
    """Learning-rate multiplier for the step about to run: 1 until decay_start * total, then linear to 0 at total."""
    start = int(total_steps * decay_start)
    if step < start:
        return 1.0
    span = max(total_steps - start, 1)
    return max(0.0, 1.0 - (step - start) / span)


def set_decayed_lr(optimizers: Iterable[torch.optim.Optimizer], lr: float, step: int, total_steps: int,
                   decay_start: float) -> float:
    """Set every optimizer's learning rate to `lr` scaled by `lr_factor`; returns the rate set."""
    lr = lr * lr_factor(step, total_steps, decay_start)
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = lr
    return lr


def draw_crops(count: int, load_size: int, size: int, flip: bool,
               rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(offsets (count, 2) of (y, x), flips (count,) bool) for `size` crops of `load_size` pictures.

    Drawn from `rng` offsets first, then flips (none drawn without `flip`): a resumed run, which
    restores the generator's state, draws the same crops again."""
    offsets = torch.randint(0, load_size - size + 1, (count, 2), generator=rng)
    if flip:
        flips = torch.rand(count, generator=rng) < 0.5
    else:
        flips = torch.zeros(count, dtype=torch.bool)
    return offsets, flips


def check_images(label: str, images: torch.Tensor, shape: tuple[int, int, int]) -> None:
    """Raise ValueError unless `images` is a uint8 (N, *shape) tensor (a programming error, not the user's)."""
    if images.ndim != 4 or tuple(images.shape[1:]) != tuple(shape) or images.dtype != torch.uint8:
        want = ", ".join(map(str, shape))
        raise ValueError(f"{label} must be uint8 (N, {want}), got {tuple(images.shape)}")
