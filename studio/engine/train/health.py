"""Plain-language warnings about a training run going wrong: collapse, a runaway
discriminator, stalled losses. Each warning says what to change, and repeats at most once
every `quiet_steps` steps so a long run is not flooded."""

from __future__ import annotations

import math
from collections import deque

import numpy as np

COLLAPSE = (
    "The samples look nearly identical whatever the noise (mode collapse). Try the 'stable' preset, "
    "turn DiffAugment on, or restart from an earlier checkpoint."
)
D_WINS = (
    "The discriminator wins every round, so the generator gets almost no signal. With a small collection "
    "turn DiffAugment on; otherwise try the 'stable' preset."
)
FLAT = (
    "The losses have stopped moving: training may have stalled. Look at the samples; if they no longer "
    "improve, restart with the 'stable' preset."
)


class HealthMonitor:
    """Feed it every step's losses and every quality measurement; it returns warnings to show."""

    def __init__(self, window: int = 200, quiet_steps: int = 2000, warmup: int = 300):
        self.window = window
        self.quiet_steps = quiet_steps
        self.warmup = warmup
        self._losses: dict[str, deque] = {}
        self._last: dict[str, int] = {}

    def _say(self, key: str, text: str, step: int) -> list[str]:
        last = self._last.get(key)
        if last is not None and step - last < self.quiet_steps:
            return []
        self._last[key] = step
        return [text]

    def observe_losses(self, step: int, losses: dict[str, float]) -> list[str]:
        for k, v in losses.items():
            self._losses.setdefault(k, deque(maxlen=self.window)).append(v)
        if step < self.warmup or len(self._losses.get("loss_D", ())) < self.window:
            return []
        out = []
        d_real, d_fake = self._losses.get("D_real"), self._losses.get("D_fake")
        if d_real and d_fake and np.mean(d_real) > 0.99 and np.mean(d_fake) < 0.01:
            out += self._say("d_wins", D_WINS, step)
        g = self._losses.get("loss_G")
        if g and all(math.isfinite(x) for x in g) and np.std(g) < 1e-4:
            out += self._say("flat", FLAT, step)
        return out

    def observe_quality(self, step: int, quality: dict[str, float]) -> list[str]:
        diversity = quality.get("diversity")
        if step >= self.warmup and diversity is not None and diversity < 0.1:
            return self._say("collapse", COLLAPSE, step)
        return []
