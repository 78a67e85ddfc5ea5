"""argparse types the commands share: user paths and enlargement factors, checked as they are parsed."""

from __future__ import annotations

import argparse
from pathlib import Path

MAX_SCALE = 16  # a 64 px picture at 16x is 1024 px; beyond that files grow and show nothing new


def user_path(text: str) -> str:
    """A path as the user typed it (relative, `~`, spaces, any script) made absolute once, here.

    Every command then compares and joins absolute paths only: mixing a relative folder with the
    absolute files found inside it is what broke `translate` given a relative folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path was given")
    return str(Path(text).expanduser().resolve())


def scale_factor(text: str) -> int:
    """`--scale N`: a whole enlargement factor from 1 to MAX_SCALE."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= MAX_SCALE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_SCALE}, got {value}")
    return value


MIN_WINDOW, MAX_WINDOW = 320, 16384  # below 320 px nothing is readable; above, no screen exists


def window_size(text: str) -> tuple[int, int]:
    """`--window-size WxH` (e.g. 1280x720): the studio window's size in pixels."""
    parts = text.strip().lower().replace("×", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not WIDTHxHEIGHT in pixels, e.g. 1280x720") from None
    for name, value in (("width", width), ("height", height)):
        if not MIN_WINDOW <= value <= MAX_WINDOW:
            raise argparse.ArgumentTypeError(f"the {name} must be between {MIN_WINDOW} and {MAX_WINDOW} pixels, "
                                             f"got {value}")
    return width, height
