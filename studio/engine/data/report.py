"""What happened while preparing an image folder, in words a designer can act on."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any

from studio.engine.data.labels import class_lines
from studio.engine.words import counted, plural


@dataclass
class DatasetReport:
    """Summary of one prepared folder: what was used, skipped and worth a second look.

    Paths are stored as given by the folder scan (absolute); :meth:`lines`
    shows them relative to ``folder``. Plain data: any thread.
    """

    folder: str  # the scanned folder
    used: int  # images that made it into the dataset
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of files left out
    duplicates: list[list[str]] = field(default_factory=list)  # groups of byte-identical used files
    # (path, w, h) of used images under the training size
    small: list[tuple[str, int, int]] = field(default_factory=list)
    aspect: dict = field(default_factory=dict)  # {"min", "median", "max"} of width/height over used images
    size: int = 0  # training size the images were fitted to, px
    ignored: dict[str, int] = field(default_factory=dict)  # {".heic": 12}: files skipped for their extension
    # a video clip's frames: {"total", "every" (Nth frame read), "read", "similar" (near-identical, dropped)}
    frames: dict[str, int] = field(default_factory=dict)
    # images per class (first-level sub-folder, studio.engine.data.labels), classes sorted by name
    classes: dict[str, int] = field(default_factory=dict)

    def lines(self, max_items: int = 8) -> list[str]:
        """Human-readable summary, one entry per line, at most ``max_items`` examples per topic."""
        out = [f"Using {counted(self.used, 'image')} from {self.folder}"]
        if self.frames:
            out.append(self.frames_line())
        if self.skipped:
            out.append(f"Skipped {counted(len(self.skipped), 'file')}:")
            out += [f"  {self.relative(p)}: {reason}" for p, reason in self.skipped[:max_items]]
            out += _more(len(self.skipped), max_items)
        if self.duplicates:
            files = sum(len(g) for g in self.duplicates)
            out.append(
                f"{counted(len(self.duplicates), 'group')} of identical files "
                f"({files:,} files; each copy is trained on):"
            )
            out += ["  " + " = ".join(self.relative(p) for p in g) for g in self.duplicates[:max_items]]
            out += _more(len(self.duplicates), max_items)
        if self.small:
            target = f" {self.size}x{self.size} px" if self.size else " the training size"
            out.append(
                f"{counted(len(self.small), 'image')} smaller than{target} "
                "(enlarged, may look blurry):"
            )
            out += [f"  {self.relative(p)} ({w}x{h} px)" for p, w, h in self.small[:max_items]]
            out += _more(len(self.small), max_items)
        if self.aspect:
            a = self.aspect
            out.append(
                f"Aspect ratio (width/height): min {a['min']:.2f}, median {a['median']:.2f}, max {a['max']:.2f}"
            )
        if self.ignored:
            total = sum(self.ignored.values())
            kinds = ", ".join(f"{ext} x{n:,}" for ext, n in sorted(self.ignored.items(), key=lambda kv: -kv[1]))
            what = "s that are not supported images" if total != 1 else " that is not a supported image"
            out.append(f"Ignored {total:,} file{what} ({kinds})")
        out += class_lines(self.classes, max_items)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists, not tuples)."""
        return {
            "folder": self.folder,
            "used": self.used,
            "skipped": [list(x) for x in self.skipped],
            "duplicates": [list(g) for g in self.duplicates],
            "small": [list(x) for x in self.small],
            "aspect": dict(self.aspect),
            "size": self.size,
            "ignored": dict(self.ignored),
            "frames": dict(self.frames),
            "classes": dict(self.classes),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DatasetReport:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, missing lists are empty."""
        return cls(
            folder=str(d["folder"]),
            used=int(d["used"]),
            skipped=[(str(p), str(r)) for p, r in d.get("skipped", [])],
            duplicates=[[str(p) for p in g] for g in d.get("duplicates", [])],
            small=[(str(p), int(w), int(h)) for p, w, h in d.get("small", [])],
            aspect={str(k): float(v) for k, v in d.get("aspect", {}).items()},
            size=int(d.get("size", 0)),
            ignored={str(k): int(v) for k, v in d.get("ignored", {}).items()},
            frames={str(k): int(v) for k, v in d.get("frames", {}).items()},
            classes={str(k): int(v) for k, v in d.get("classes", {}).items()},
        )

    def at_size(self, size: int) -> DatasetReport:
        """This report as seen at training size `size`: a kind may decode larger (CycleGAN loads
        ~1.12x for random crops), but a designer chose, and should read, the training size; `small`
        keeps only the images under it."""
        if not size or size == self.size:
            return self
        return replace(self, size=size, small=[(p, w, h) for p, w, h in self.small if w < size or h < size])

    def frames_line(self) -> str:
        """For a video clip: how many frames were taken from how many, and why not all."""
        f = self.frames
        every = "every frame" if f["every"] == 1 else f"every {_ordinal(f['every'])} frame"
        dropped = (f", {f['similar']:,} near-identical {plural(f['similar'], 'frame')} left out" if f["similar"]
                   else "")
        return f"Took {self.used:,} of {f['total']:,} video {plural(f['total'], 'frame')} ({every}{dropped})"

    def relative(self, path: str) -> str:
        """``path`` relative to the folder when it lies inside it, for display."""
        try:
            rel = os.path.relpath(path, self.folder)
        except ValueError:  # another drive on Windows
            return path
        return path if rel.startswith("..") else rel


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _more(total: int, shown: int) -> list[str]:
    return [f"  ... and {total - shown:,} more"] if total > shown else []
