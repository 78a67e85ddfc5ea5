"""argparse value types: every path and number the command line takes is checked as it is parsed.

Paths: `user_path` makes a path absolute once, as it is parsed, so that commands only ever compare
and join absolute paths.

Numbers: whole numbers within a range, finite numbers, seeds, enlargement factors and window
sizes. Each is refused as it is parsed (exit 2, one line) when it is meaningless (0 minutes, NaN
seconds) or so large that the command would run forever or exhaust memory before failing. Bounds
that depend on the machine (how many devices exist, free memory) are checked after parsing, in
`check_devices` and `check_animation_memory`.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

from studio.engine.words import plural

# ---- Paths ---------------------------------------------------------------------------------


def user_path(text: str) -> str:
    """A path as the user typed it (relative, `~`, spaces, any script) made absolute once, here.

    Every command then compares and joins absolute paths only: mixing a relative folder with the
    absolute files found inside it is what broke `translate` given a relative folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path was given")
    return str(Path(text).expanduser().resolve())


# ---- Numbers -------------------------------------------------------------------------------

SEED_LIMIT = 2**63  # torch.manual_seed takes 64-bit seeds; 2^63 keeps seed + 2 (the preview noise) in range
MAX_STEPS = 10**9
MAX_MINUTES = 60 * 24 * 365  # a year
MAX_SIZE = 4096  # image side in pixels (DataConfig's own limit)
MAX_BATCH = 4096
MAX_Z_DIM = 4096  # StyleGAN's latents are 512 long; beyond a few thousand nothing is gained
MAX_WIDTH = 1024  # network width: 1024 channels at 256 px is already many GB of activations
MAX_COUNT = 100_000  # images one command writes (streamed, so the bound is disk and patience)
MAX_FRAMES = 100_000  # frames of an animation (an hour at 24 fps)
MAX_GRID = 1024  # pictures in one grid image (32 x 32 of 256 px is already 8192 px square)
MIN_TILE, MAX_TILE = 32, 4096  # the translator's own smallest tile; a tile larger than the image is one tile
MAX_HOLD_S = 60.0
MAX_SCALE = 16  # a 64 px picture at 16x is 1024 px; beyond that files grow and show nothing new
MIN_WINDOW, MAX_WINDOW = 320, 16384  # below 320 px nothing is readable; above, no screen exists


def whole(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `lo` to `hi` (written as digits: no 1e9, no 2.0)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not lo <= value <= hi:
            low = {0: "0 or more", 1: "positive"}.get(lo, f"at least {lo:,}")
            raise argparse.ArgumentTypeError(f"must be {low} and at most {hi:,}, got {value:,}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its messages
    return parse


def number(lo: float, hi: float, lo_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number from `lo` (excluded with `lo_open`) to `hi`; never NaN or inf."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not math.isfinite(value) or value < lo or (lo_open and value == lo) or value > hi:
            low = f"more than {lo:g}" if lo_open else f"at least {lo:g}"
            raise argparse.ArgumentTypeError(f"must be {low} and at most {hi:g}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


def seed(text: str) -> int:
    """A seed: a whole number from 0 to 2^63 - 1."""
    return whole(0, SEED_LIMIT - 1)(text)


seed.__name__ = "seed"

steps = whole(1, MAX_STEPS)
every = whole(1, MAX_STEPS)  # --checkpoint-every and the like
every_or_zero = whole(0, MAX_STEPS)  # --metric-every: 0 switches it off
minutes = number(0.0, MAX_MINUTES, lo_open=True)
size = whole(1, MAX_SIZE)
batch = whole(1, MAX_BATCH)
z_dim = whole(1, MAX_Z_DIM)
width = whole(1, MAX_WIDTH)
count = whole(1, MAX_COUNT)
frames = whole(1, MAX_FRAMES)
grid_count = whole(1, MAX_GRID)
tile = whole(MIN_TILE, MAX_TILE)
hold = number(0.0, MAX_HOLD_S)
devices = whole(1, 1024)  # the machine's own bound is checked by check_devices once the device is known


def scale_factor(text: str) -> int:
    """`--scale N`: a whole enlargement factor from 1 to MAX_SCALE."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if not 1 <= value <= MAX_SCALE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_SCALE}, got {value}")
    return value


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


# ---- Bounds known only on this machine ------------------------------------------------------


def device_limit(device: str | None) -> tuple[int, str]:
    """How many data-parallel processes `device` can honestly run on this machine, and what they
    are: one per visible GPU, or (CPU, for testing the parallel path) one per core."""
    import torch

    gpus = torch.cuda.device_count() if (device or "auto") in ("auto", "cuda") else 0
    if gpus:
        return gpus, plural(gpus, "GPU")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores, plural(cores, "CPU core")


def check_devices(n: int, device: str | None) -> None:
    """UserError unless `n` processes fit the devices this machine has."""
    from studio.engine.errors import UserError

    limit, what = device_limit(device)
    if n > limit:
        raise UserError(f"--devices {n}: this machine has {limit} {what}; use --devices {limit} or fewer.")


# Bytes a frame of side s costs while GIF / WebP encoders hold every frame (Pillow writes
# animations from a list: palette images for GIF, RGB(A) for WebP). MP4 frames stream to ffmpeg.
_HELD_BYTES_PER_PIXEL = {".gif": 1, ".webp": 4}


def available_memory() -> int:
    """Bytes of memory free for this process now (a large figure where the system cannot say)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def check_animation_memory(frames: int, side: int, suffix: str) -> None:
    """UserError when an animation of `frames` frames of `side` px would not fit in half the free memory."""
    from studio.engine.errors import UserError

    per_pixel = _HELD_BYTES_PER_PIXEL.get(suffix.lower())
    if per_pixel is None:
        return
    need, free = frames * side * side * per_pixel, available_memory()
    if need > free // 2:
        raise UserError(f"{frames:,} frames of {side} px need about {need / 1e9:.1f} GB of memory as {suffix} "
                        f"({free / 1e9:.1f} GB is free); choose .mp4, which is written frame by frame, or fewer "
                        "frames or a smaller --scale.")
