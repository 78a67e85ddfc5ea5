"""Counts in words for messages the user reads ("1 image", "1,200 images"), shared by the engine, the
command line and the studio so every message agrees."""

from __future__ import annotations


def plural(n: int | float, noun: str) -> str:
    """`noun` as `n` of it reads: 'image' for 1, 'images' for anything else (0 too)."""
    return noun if n == 1 else f"{noun}s"


def counted(n: int, noun: str) -> str:
    """'1 image', '0 images', '1,200 images' (thousands separated)."""
    return f"{n:,} {plural(n, noun)}"
