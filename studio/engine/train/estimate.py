"""How long will this take? Training time measured with a few real steps, and said in words.

Before a project starts, the wizard builds the chosen kind's trainer on the user's prepared images
with the chosen size, batch and width, runs one warm-up step (first-call allocations, kernel
selection) and then a few timed steps, and adds what the session does on its schedules (sample
grids, quality measurements, checkpoints). The trainer is built as a run builds it, on the fast path
measured for this machine (train/fast_path.py). `describe_estimate` turns the figure into one sentence.

No Qt; any thread (one call at a time per trainer: it builds its own).
"""

from __future__ import annotations

import dataclasses
import io
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from studio.engine.errors import Cancelled
from studio.engine.train.distributed import SINGLE

if TYPE_CHECKING:
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import ImageDataset

WARMUP_STEPS = 1
TIMED_STEPS = 3


@dataclass(frozen=True)
class StepCost:
    """Measured seconds of one training step and of the session's scheduled extras."""

    step_s: float  # one optimisation step (median of the timed steps)
    samples_s: float  # one preview grid
    quality_s: float  # one quality measurement
    checkpoint_s: float  # one checkpoint's state gathered and serialised

    def run_seconds(self, steps: int, settings: RunSettings) -> float:
        """Seconds for `steps` steps with `settings`' sample, metric and checkpoint schedules."""
        extra = self.samples_s * (steps // max(settings.sample_every, 1) + 1)
        extra += self.checkpoint_s * (steps // max(settings.checkpoint_every, 1) + 1)
        if settings.metric_every:
            extra += self.quality_s * (steps // settings.metric_every)
        return steps * self.step_s + extra


def datasets_at(datasets: dict[str, ImageDataset], size: int) -> dict[str, ImageDataset]:
    """`datasets` with their images resized to `size` (area or bilinear): what a different training
    size would decode to, close enough for timing without decoding the folders again."""
    out = {}
    for role, ds in datasets.items():
        images = ds.images
        if images.shape[-1] != size:
            x = images.float()
            mode = "area" if images.shape[-1] > size else "bilinear"
            x = F.interpolate(x, size=(size, size), mode=mode, **({} if mode == "area" else {"align_corners": False}))
            images = x.round_().clamp_(0, 255).to(torch.uint8).contiguous()
        out[role] = dataclasses.replace(ds, images=images)
    return out


def measure_step_seconds(
    kind,
    cfg,
    datasets: dict[str, ImageDataset],
    device: torch.device | str,
    steps: int = TIMED_STEPS,
    settings: RunSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> StepCost:
    """Time `kind`'s trainer for the model config `cfg` on `datasets` (at the kind's load size for
    `cfg`, see `datasets_at`) on `device`: one warm-up step, then `steps` timed steps, one sample
    grid, one quality measurement and one checkpoint's state. `kind` is a ModelKind, handed in
    (train/ sits below models/ and does not import it). `progress(done, total)` after each
    part; `should_cancel()` between parts (Cancelled). Seconds, not a guess: the real trainer runs."""
    from studio.engine.config import RunSettings
    from studio.engine.train.fast_path import build_trainer

    settings = settings or RunSettings()
    run = dataclasses.replace(settings, steps=max(settings.steps, WARMUP_STEPS + steps))
    dev = torch.device(device)

    def make(probe: bool):
        # As models/sessions.py builds a run's trainer: on the path measured fastest for this machine
        # and model shape (timed once, then remembered, so the run itself starts without timing).
        if probe:
            few = {r: dataclasses.replace(d, images=d.images[: 2 * cfg.batch]) for r, d in datasets.items()}
            return kind.make_trainer(cfg, run, few, dev, SINGLE)
        return kind.make_trainer(cfg, run, datasets, dev, SINGLE)

    trainer = build_trainer(kind.name, kind.approved_paths(), cfg, dev, make)
    total = WARMUP_STEPS + steps + 3
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)
        if should_cancel is not None and should_cancel():
            raise Cancelled()

    def timed(fn) -> float:
        _sync(trainer.device)
        start = time.perf_counter()
        fn()
        _sync(trainer.device)
        return time.perf_counter() - start

    for _ in range(WARMUP_STEPS):
        trainer.step()
        tick()
    times = []
    for _ in range(steps):
        times.append(timed(trainer.step))
        tick()
    samples_s = timed(trainer.samples)
    tick()
    quality_s = timed(trainer.quality) if settings.metric_every else 0.0
    tick()
    checkpoint_s = timed(lambda: _serialise(trainer))
    tick()
    times.sort()
    return StepCost(times[len(times) // 2], samples_s, quality_s, checkpoint_s)


def _serialise(trainer) -> None:
    from safetensors.torch import save

    tensors, _meta = trainer.state_dict()
    io.BytesIO(save(tensors))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


# ----- words -----------------------------------------------------------------------------------------
def duration_words(seconds: float) -> str:
    """'under a minute', 'about 7 min', 'about 2 h 10 min' (rounded as a person would say it)."""
    if not math.isfinite(seconds):
        return "an unknown time"
    minutes = seconds / 60
    if minutes < 1:
        return "under a minute"
    if minutes < 10:
        return f"about {round(minutes)} min"
    if minutes < 60:
        return f"about {5 * round(minutes / 5)} min"
    hours, rest = divmod(5 * round(minutes / 5), 60)
    return f"about {hours} h" + (f" {rest} min" if rest else "")


def describe_estimate(cost: StepCost, steps: int, settings: RunSettings, where: str,
                      first_shapes_steps: int | None = None) -> str:
    """One or two sentences for the wizard, e.g. 'About 25 min for 5,000 steps on this CPU (2 cores),
    measured at 0.30 s a step. First recognisable shapes usually after ~400 steps (about 2 min).'
    `where` names the device as the sentence needs it ("this CPU (2 cores)")."""
    words = duration_words(cost.run_seconds(steps, settings))
    text = f"{words[:1].upper()}{words[1:]} for {steps:,} steps on {where}, measured at {cost.step_s:.2f} s a step."
    if first_shapes_steps and first_shapes_steps <= steps:
        text += (f" First recognisable shapes usually after ~{first_shapes_steps:,} steps "
                 f"({duration_words(cost.run_seconds(first_shapes_steps, settings))}).")
    elif first_shapes_steps:
        text += f" Recognisable shapes usually take ~{first_shapes_steps:,} steps, more than this run."
    return text
