"""Plain-language warnings about a training run going wrong: collapse, a runaway
discriminator, stalled losses. Each warning says what to change, and repeats at most once
every `quiet_steps` steps so a long run is not flooded.

`verdict(records)` sums a run's loss history up in one line for the studio's monitor
("learning", "stuck: the critic wins every round", "collapsing: samples look alike"), by the
same tests the warnings use, so the line and the warnings never disagree. Plain Python; any thread."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from studio.engine.words import counted

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


DIVERSITY_COLLAPSED = 0.1  # samples this alike (0: identical, ~1: as varied as the data) have collapsed
CRITIC_WINS = (0.99, 0.01)  # D's mean score on real images above this, on generated ones below this
FLAT_STD = 1e-4  # loss_G moving less than this over a window has stalled


def critic_wins(d_real: Sequence[float], d_fake: Sequence[float]) -> bool:
    """The discriminator tells real from generated with certainty: the generator learns nothing."""
    return bool(d_real) and bool(d_fake) and np.mean(d_real) > CRITIC_WINS[0] and np.mean(d_fake) < CRITIC_WINS[1]


def stalled(loss_g: Sequence[float]) -> bool:
    return bool(loss_g) and all(math.isfinite(x) for x in loss_g) and float(np.std(loss_g)) < FLAT_STD


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
        if critic_wins(self._losses.get("D_real", ()), self._losses.get("D_fake", ())):
            out += self._say("d_wins", D_WINS, step)
        if stalled(self._losses.get("loss_G", ())):
            out += self._say("flat", FLAT, step)
        return out

    def observe_quality(self, step: int, quality: dict[str, float]) -> list[str]:
        diversity = quality.get("diversity")
        if step >= self.warmup and diversity is not None and diversity < DIVERSITY_COLLAPSED:
            return self._say("collapse", COLLAPSE, step)
        return []


# Fields of a history record that are not losses.
NOT_LOSSES = frozenset({"step", "time", "images_per_s", "lr", "elapsed_s", "diversity"})
QUALITY = "swd"  # the overall quality measurement (lower is better); a kind may add swd_* per direction
TREND_MEASUREMENTS = 4  # the quality trend is read over this many latest measurements


@dataclass(frozen=True)
class Verdict:
    """How a run is going, in one line. `state` is one of: "waiting", "warming up", "learning",
    "plateau", "stuck", "stalled", "collapsing", "diverged"."""

    state: str
    text: str  # one sentence for the user, starting with the state

    @property
    def healthy(self) -> bool:
        return self.state in ("waiting", "warming up", "learning", "plateau")


def is_loss(name: str, value) -> bool:
    return (name not in NOT_LOSSES and not name.startswith(QUALITY) and isinstance(value, (int, float))
            and not isinstance(value, bool))


def verdict(records: Sequence[dict], window: int = 200, warmup: int = 300) -> Verdict:
    """One line on a run from its history `records` (oldest first, as in history.jsonl or as the
    studio receives them): the losses of the last `window` steps, the latest diversity and the
    trend of the latest quality measurements. Reads the records from the end only as far as it
    needs, so a long history costs no more than a short one."""
    if not records:
        return Verdict("waiting", "Waiting: the verdict appears once training starts.")
    last_step = records[-1].get("step", 0)
    tail: dict[str, list[float]] = {}
    quality: list[tuple[int, float]] = []  # newest first
    diversity = None
    for rec in reversed(records):
        step = rec.get("step", 0)
        in_window = step > last_step - window
        if in_window:
            for k, v in rec.items():
                if is_loss(k, v):
                    tail.setdefault(k, []).append(float(v))
        if diversity is None and isinstance(rec.get("diversity"), (int, float)):
            diversity = float(rec["diversity"])
        if isinstance(rec.get(QUALITY), (int, float)):
            quality.append((step, float(rec[QUALITY])))
        if not in_window and len(quality) >= TREND_MEASUREMENTS:
            break
    if any(not math.isfinite(v) for values in tail.values() for v in values[:1]):
        return Verdict("diverged", "Diverged: the losses are no longer numbers; training goes back to the last "
                                   "good checkpoint.")
    if last_step < warmup:
        return Verdict("warming up", f"Warming up: too early to judge (step {last_step:,} of the first {warmup:,}).")
    if diversity is not None and diversity < DIVERSITY_COLLAPSED:
        return Verdict("collapsing", "Collapsing: samples look alike whatever the noise.")
    if critic_wins(tail.get("D_real", ()), tail.get("D_fake", ())):
        return Verdict("stuck", "Stuck: the critic wins every round, so the generator gets no signal.")
    if len(tail.get("loss_G", ())) >= 10 and stalled(tail["loss_G"]):
        return Verdict("stalled", "Stalled: the losses have stopped moving.")
    if len(quality) >= 2:
        (new_step, new), (old_step, old) = quality[0], quality[-1]
        span = new_step - old_step
        # A history can measure twice at one step, or step backwards (a project copied from another
        # and trained on measures again where the copy began): a span in steps would then read
        # "over the last 0 steps", so the measurements are counted instead.
        over = (f"over the last {counted(span, 'step')}" if span > 0
                else f"over the last {len(quality)} measurements")
        if new < old:
            return Verdict("learning", f"Learning: quality improved from {old:,.0f} to {new:,.0f} {over}.")
        return Verdict("plateau", f"Plateau: quality has not improved {over}; "
                                  "look at the samples to decide whether to go on.")
    return Verdict("learning", "Learning: the quality curve follows after the next measurements.")
