"""Driving a trainer over a project folder: sample grids, history, checkpoints, stop/resume.

`TrainingSession.run()` is a generator of small `TrainEvent`s carrying CPU numpy arrays only,
so any front end (the CLI's progress bar, the studio's QThread worker) can consume it and decide
between steps whether to pause or stop.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.engine.checkpoint import clean_checkpoint_folder, load_latest, prune_checkpoints, save_checkpoint
from studio.engine.config import RunSettings
from studio.engine.project import Project
from studio.engine.trainer import Trainer


@dataclass
class TrainEvent:
    """What happened in one training step. Plain data: safe to pass between threads."""

    step: int  # steps completed so far
    target_steps: int  # the step the run is heading for
    losses: dict[str, float]
    images_per_s: float  # recent throughput (smoothed)
    elapsed_s: float  # wall time of this run (since run() started)
    samples: np.ndarray | None = None  # uint8 (H, W, C) preview grid, when one was made at this step
    sample_path: str | None = None
    checkpoint_path: str | None = None
    messages: list[str] = field(default_factory=list)  # warnings for the user


class TrainingSession:
    """A trainer bound to its project folder. Used by one thread at a time."""

    def __init__(self, project: Project, trainer: Trainer, settings: RunSettings, warnings: list[str] | None = None):
        self.project = project
        self.trainer = trainer
        self.settings = settings
        self.warnings = list(warnings or [])  # shown once by the front end (e.g. dataset changed)
        self._ips = 0.0

    # ----- checkpoints -------------------------------------------------------------------------
    def restore_latest(self) -> int:
        """Load the newest verifiable checkpoint, if any; returns the step restored (0 if none)."""
        clean_checkpoint_folder(self.project.checkpoints_dir)
        found = load_latest(self.project.checkpoints_dir)
        if found is None:
            return 0
        tensors, meta = found
        self.trainer.load_state_dict(tensors, meta)
        step = self.trainer.global_step
        if any(r.get("step", 0) > step for r in self.project.read_history()[-1:]):
            self.project.truncate_history(step)  # the run died after its last checkpoint
        return step

    def save_checkpoint(self) -> Path:
        """Write a checkpoint of the current state and prune old ones; returns its JSON path."""
        tensors, meta = self.trainer.state_dict()
        meta["run"] = self.project.meta.get("run", {})
        path = save_checkpoint(self.project.checkpoints_dir, self.trainer.global_step, tensors, meta)
        prune_checkpoints(self.project.checkpoints_dir, self.settings.keep_checkpoints)
        self.project.save_meta(step=self.trainer.global_step)
        return path

    def save_samples(self) -> tuple[np.ndarray, Path]:
        grid = self.trainer.samples()
        return grid, self.project.save_samples(self.trainer.global_step, grid)

    # ----- the loop ----------------------------------------------------------------------------
    def run(
        self,
        until_step: int | None = None,
        minutes: float | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Iterator[TrainEvent]:
        """Train until `until_step` (default: settings.steps), `minutes` elapse or `should_stop()`.

        Yields one TrainEvent per step. Writes samples, history and checkpoints on their schedules
        and a final checkpoint when the loop ends normally. A consumer that stops iterating early
        should call `save_checkpoint()` itself (the studio does on stop/close)."""
        s = self.settings
        target = until_step if until_step is not None else s.steps
        start = time.perf_counter()
        deadline = start + minutes * 60 if minutes else math.inf
        t_last = start
        if self.trainer.global_step == 0 and not self.project.sample_path(0).exists():
            self.save_samples()  # step 0: the time-lapse starts from noise
        while self.trainer.global_step < target:
            if should_stop is not None and should_stop():
                break
            losses = self.trainer.step()
            now = time.perf_counter()
            step = self.trainer.global_step
            rate = self.trainer.images_per_step / max(now - t_last, 1e-9)
            self._ips = rate if self._ips == 0 else 0.9 * self._ips + 0.1 * rate
            t_last = now
            event = TrainEvent(step, target, losses, self._ips, now - start)
            if step % s.log_every == 0 or step == target:
                self.project.append_history(
                    {"step": step, **losses, "images_per_s": round(self._ips, 2), "time": time.time()}
                )
            if step % s.sample_every == 0 or step == target:
                event.samples, path = self.save_samples()
                event.sample_path = str(path)
            if step % s.checkpoint_every == 0 or step == target:
                event.checkpoint_path = str(self.save_checkpoint())
            yield event
            if now >= deadline:
                break
        if not self._has_checkpoint_at(self.trainer.global_step):
            self.save_checkpoint()

    def _has_checkpoint_at(self, step: int) -> bool:
        return self.project.checkpoints_dir.joinpath(f"step-{step:07d}.json").exists()
