"""Walks between classes of a generator with classes ("moth -> butterfly"): the same latent drawn
along the straight line between two classes' embeddings. The class embedding is a linear map of
class weights (models/conditioning.py), so weights (1 - t, t) over the two classes are exactly the
embedding lerp. Pictures come back as uint8 arrays; exports go through explore/export.py. Any
thread that owns the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.engine.errors import UserError
from studio.engine.explore.export import ANIMATION_FORMATS, AnimationSettings, save_grid, write_animation


def class_path(src: int, dst: int, num_classes: int, steps: int) -> np.ndarray:
    """Class weights (steps, num_classes) from class `src` to class `dst`, evenly spaced, both ends included."""
    if not (0 <= src < num_classes and 0 <= dst < num_classes):
        raise ValueError(f"classes must be below {num_classes}")
    if steps < 2:
        raise ValueError("a walk needs at least two steps")
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    w = np.zeros((steps, num_classes), np.float32)
    w[:, src] += 1 - t
    w[:, dst] += t
    return w


def class_walk(model, z, src: int, dst: int, steps: int) -> np.ndarray:
    """The latent `z` (z_dim,) drawn at `steps` points from class `src` to `dst`: uint8 (steps, H, W, C).
    `model` is a GeneratorModel with classes."""
    classes = model.class_names
    if not classes:
        raise UserError("This generator was trained without classes, so there is nothing to walk between.")
    z = np.broadcast_to(np.asarray(z, np.float32).reshape(1, -1), (steps, model.z_dim))
    return model.generate(np.ascontiguousarray(z), class_path(src, dst, len(classes), steps))


def export_class_walk(path: Path | str, model, z, src: int, dst: int, steps: int = 8, frames: int = 48,
                      settings: AnimationSettings = AnimationSettings(fps=16), **encode) -> Path:
    """Save the walk from class `src` to `dst` for latent `z`: a PNG strip of `steps` pictures, or an
    animation (GIF, MP4, WebP by the extension) of `frames` frames there and back, so it loops.
    `encode`: write_animation's progress and should_cancel."""
    path = Path(path)
    if path.suffix.lower() == ".png":
        return save_grid(path, class_walk(model, z, src, dst, steps), nrow=steps, scale=settings.scale)
    if path.suffix.lower() not in ANIMATION_FORMATS:
        raise UserError(f"A class walk is saved as a PNG strip or an animation ({', '.join(ANIMATION_FORMATS)}); "
                        f"{path.name} is neither.")
    half = max(2, frames // 2)
    there = class_walk(model, z, src, dst, half)
    loop = np.concatenate([there, there[-2:0:-1]])  # back again without repeating the ends
    return write_animation(path, iter(loop), len(loop), settings, **encode)
