"""Class labels from sub-folders: designers keep collections as "moths/", "beetles/", "butterflies/".

The class of an image is the first level of sub-folder under the scanned folder (deeper folders
belong to their first-level folder: "moths/night/a.png" is a moth). Images lying directly in the
scanned folder are a class of their own, named `ROOT_CLASS`: refusing them would make a folder
with one stray picture untrainable, and silently dropping them would lose images. Classes are
sorted by name, so the same folder always gives the same class numbers. Plain Python; any thread.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

ROOT_CLASS = "(top folder)"  # images directly in the scanned folder
MIN_CLASS_IMAGES = 20  # fewer than this and a class is too small to learn
IMBALANCE = 10  # a class under 1/IMBALANCE of the largest one gets a warning
MAX_CLASSES = 1000


def class_of(path: str, folder: str) -> str:
    """The class of image `path` found under `folder`: its first-level sub-folder, or ROOT_CLASS."""
    try:
        rel = Path(os.path.relpath(path, folder))
    except ValueError:  # another drive on Windows: not under the folder
        return ROOT_CLASS
    if rel.parts and rel.parts[0] == "..":
        return ROOT_CLASS
    return rel.parts[0] if len(rel.parts) > 1 else ROOT_CLASS


def class_counts(paths: list[str], folder: str) -> dict[str, int]:
    """Images per class, classes sorted by name (the class numbers `labels_for` gives)."""
    counts = Counter(class_of(p, folder) for p in paths)
    return {name: counts[name] for name in sorted(counts)}


def labels_for(paths: list[str], folder: str, names: tuple[str, ...] | list[str]) -> list[int]:
    """The class number of each path among `names` (a trained model's classes).

    ValueError naming the classes that `names` lacks: a model cannot learn a class it has no
    embedding for (the folder gained a sub-folder since the model was made)."""
    index = {n: i for i, n in enumerate(names)}
    found = [class_of(p, folder) for p in paths]
    unknown = sorted({c for c in found if c not in index})
    if unknown:
        raise ValueError(f"The folder has classes this model was not made with: {', '.join(unknown)}.")
    return [index[c] for c in found]


def usable_as_classes(counts: dict[str, int]) -> bool:
    """Whether `--classes auto` trains a conditional model: 2 to MAX_CLASSES classes, each with
    enough images to learn."""
    return 2 <= len(counts) <= MAX_CLASSES and min(counts.values()) >= MIN_CLASS_IMAGES


def class_warnings(counts: dict[str, int]) -> list[str]:
    """Sentences about classes that would train badly: too small to learn, or far smaller than the
    largest (the generator sees it rarely and draws it poorly)."""
    if len(counts) < 2:
        return []
    out = []
    tiny = [n for n, c in counts.items() if c < MIN_CLASS_IMAGES]
    if tiny:
        out.append(f"{_list(tiny)} {'has' if len(tiny) == 1 else 'have'} fewer than {MIN_CLASS_IMAGES} images: "
                   "too few to learn as a class; add images or merge the folder into another.")
    largest = max(counts.values())
    rare = [n for n, c in counts.items() if c * IMBALANCE < largest and n not in tiny]
    if rare:
        out.append(f"{_list(rare)} {'has' if len(rare) == 1 else 'have'} under a tenth of the images of the "
                   f"largest class ({largest:,}): {'it' if len(rare) == 1 else 'they'} will be drawn poorly "
                   "unless classes are sampled evenly (Balanced classes).")
    return out


def class_lines(counts: dict[str, int], max_items: int = 8) -> list[str]:
    """The dataset report's lines about classes: the classes found with their counts, and warnings."""
    if len(counts) < 2:
        return []
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{name} {n:,}" for name, n in items[:max_items])
    more = f" and {len(items) - max_items} more" if len(items) > max_items else ""
    out = [f"{len(counts)} classes from sub-folders: {shown}{more}"]
    if ROOT_CLASS in counts:
        out.append(f"  Images directly in the folder form a class of their own, {ROOT_CLASS}.")
    if len(counts) > MAX_CLASSES:
        out.append(f"  More than {MAX_CLASSES:,} classes: trained without classes unless you ask for them.")
    out += [f"  Warning: {w}" for w in class_warnings(counts)]
    return out


def _list(names: list[str], limit: int = 4) -> str:
    quoted = [f"'{n}'" for n in names[:limit]]
    if len(names) > limit:
        return ", ".join(quoted) + f" and {len(names) - limit} more"
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
