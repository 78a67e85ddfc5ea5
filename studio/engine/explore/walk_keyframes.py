"""The keyframes of an exported walk: saved bookmarks of either space (z, or W / w+ of a style-based
generator) and the classes of a generator with classes, paired with them.

A walk stays in one space: z bookmarks are walked in z, W and w+ bookmarks in W (straight lines
between flat per-layer styles, as the StyleGAN papers interpolate W); a walk that would mix the
two is refused, since a z and a w are not points of one space. Classes walk through their
weights, one-hot at each keyframe: the class embedding is linear in them, so the in-betweens are
the embedding lerp of the explorer's class walk (`class_walk.class_path`). Any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from studio.engine.errors import UserError
from studio.engine.explore.bookmarks import ExploreStore


@dataclass(frozen=True)
class Keyframes:
    """Latents of one space to walk through, and the class weights of each when the model has classes."""

    space: str  # "z" or "w" (flat ws, num_ws * w_dim values each)
    latents: np.ndarray  # (K, dim)
    classes: np.ndarray | None = None  # (K, num_classes) one-hot rows; None: the generator's default


def bookmark_keyframes(root, model, names: Sequence[str]) -> Keyframes:
    """The bookmarks `names` of the project at `root`, in the one space that holds them all.

    `model` is the project's GeneratorModel (its spaces and shapes). UserError for a name saved in
    no space, and for names of different spaces (a z and a w bookmark cannot share a walk)."""
    names = list(names)
    if not names:
        raise UserError("--bookmarks needs at least one name.")
    stores = {"z": ExploreStore.open(root, model.z_dim)}
    if "w" in model.spaces:
        stores["w"] = ExploreStore.open(root, model.z_dim, "w", (model.num_ws, model.w_dim))
    held = {space: {e.name for e in store.latents} for space, store in stores.items()}
    for space, store in stores.items():
        if all(n in held[space] for n in names):
            return Keyframes(space, np.stack([store.latent(n) for n in names]))
    missing = [n for n in names if not any(n in h for h in held.values())]
    if missing:
        known = sorted(set().union(*held.values()))
        raise UserError(f"No bookmark named '{missing[0]}' in {root} "
                        f"(bookmarks: {', '.join(known) if known else 'none saved yet'}).")
    in_z = [n for n in names if n in held["z"]]
    in_w = [n for n in names if n not in held["z"]]
    raise UserError(f"A walk stays in one latent space, but {', '.join(in_z)} "
                    f"{'is a z bookmark' if len(in_z) == 1 else 'are z bookmarks'} and {', '.join(in_w)} "
                    f"{'is a W bookmark' if len(in_w) == 1 else 'are W bookmarks'}; walk each space's bookmarks "
                    "on their own.")


def class_indices(model, names: Sequence[str]) -> list[int]:
    """Class names -> their numbers in `model` (a GeneratorModel); UserError for a model without
    classes or a name it does not have."""
    classes = model.class_names
    if not classes:
        raise UserError("This model was trained without classes; drop --classes.")
    unknown = [n for n in names if n not in classes]
    if unknown:
        raise UserError(f"The model has no class '{unknown[0]}'; it has: {', '.join(classes)}.")
    if not names:
        raise UserError("--classes needs at least one class name.")
    return [classes.index(n) for n in names]


def with_classes(keys: Keyframes, classes: Sequence[int], num_classes: int) -> Keyframes:
    """Pair latent keyframes with classes: one class draws every keyframe as it; one latent with
    several classes is a walk across the classes at that latent (the explorer's class walk); as
    many latents as classes pair them in order. W keyframes hold their class already: refused."""
    if keys.space != "z":
        raise UserError("W bookmarks already hold the class they were drawn with; drop --classes.")
    latents = keys.latents
    if len(classes) > 1 and len(latents) == 1:
        latents = np.repeat(latents, len(classes), axis=0)
    elif len(classes) == 1:
        classes = list(classes) * len(latents)
    elif len(classes) != len(latents):
        raise UserError(f"Give one class, one keyframe, or as many classes as keyframes "
                        f"({len(latents)} keyframes and {len(classes)} classes).")
    return Keyframes("z", latents, np.eye(num_classes, dtype=np.float32)[list(classes)])
