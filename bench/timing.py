"""Timing helper shared by the bench scripts (imported as `timing`: scripts run from this folder)."""

from __future__ import annotations

import time


def timed(fn, repeats: int, warmup: int = 3) -> list[float]:
    """Seconds of each of `repeats` calls of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out
