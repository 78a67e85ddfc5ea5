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
import torch

from studio.engine.config import RunSettings
from studio.engine.errors import CheckpointError
from studio.engine.project.checkpoints import (
    clean_checkpoint_folder,
    list_checkpoints,
    load_resume_point,
    prune_checkpoints,
    save_checkpoint,
)
from studio.engine.project.folder import Project
from studio.engine.project.schema import check_trainer_state
from studio.engine.train.distributed import any_across, barrier
from studio.engine.train.health import HealthMonitor
from studio.engine.train.protocol import Trainer


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
    quality: dict[str, float] | None = None  # offline quality metric (swd, diversity) when measured
    # Set when the run stopped itself: "diverged" (rolled back), "write_error" (disk full/read-only),
    # "out_of_memory" (no smaller batch left). The consumer treats it as a pause and shows `messages`.
    stopped: str | None = None
    error: str | None = None  # the operating system's reason for a write_error, e.g. "No space left on device"


class TrainingSession:
    """A trainer bound to its project folder. Used by one thread at a time."""

    def __init__(self, project: Project, trainer: Trainer, settings: RunSettings, warnings: list[str] | None = None):
        self.project = project
        self.trainer = trainer
        self.settings = settings
        self.warnings = list(warnings or [])  # shown once by the front end (e.g. dataset changed)
        self._ips = 0.0
        self.health = HealthMonitor()
        self.dist = trainer.dist
        self.lock = None  # the project's training lock (project/lock.py) while this session may train

    def close(self) -> None:
        """Give back the project's training lock: another process may train it now. Idempotent."""
        if self.lock is not None:
            self.lock.release()

    # ----- checkpoints -------------------------------------------------------------------------
    def restore_latest(self) -> int:
        """Load the newest verifiable checkpoint; returns the step restored (0 for a project that never
        trained). ResumeRefused (a UserError) for a trained project none of whose checkpoints loads."""
        if self.dist.is_main:
            clean_checkpoint_folder(self.project.checkpoints_dir)
        found = load_resume_point(self.project, check=check_trainer_state)
        if found is None:
            return 0
        tensors, meta = found
        self.trainer.load_state_dict(tensors, meta)
        step = self.trainer.global_step
        if self.dist.is_main and any(r.get("step", 0) > step for r in self.project.read_history()[-1:]):
            self.project.truncate_history(step)  # the run died after its last checkpoint
        return step

    def save_checkpoint(self) -> Path:
        """Write a checkpoint of the current state and prune old ones; returns its JSON path.
        With several processes only rank 0 writes (the others return the same path)."""
        if not self.dist.is_main:
            return self.project.checkpoint_path(self.trainer.global_step)
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

        Yields one TrainEvent per step. Writes samples, history, quality and checkpoints on their
        schedules and a final checkpoint when the loop ends normally. It stops by itself, with
        `event.stopped` set and a message, when the losses go NaN (after rolling back to the last good
        checkpoint), when the project folder cannot be written (state kept in memory), or when memory
        runs out at the smallest batch. A consumer that stops iterating early should call
        `save_checkpoint()` itself (the studio does on stop/close)."""
        s = self.settings
        target = until_step if until_step is not None else s.steps
        start = time.perf_counter()
        deadline = start + minutes * 60 if minutes else math.inf
        t_last = start
        try:
            if self.dist.is_main and not list_checkpoints(self.project.checkpoints_dir):
                self.save_checkpoint()  # a rollback target exists from the first step on
            if self.dist.is_main and self.trainer.global_step == 0 and not self.project.sample_path(0).exists():
                self.save_samples()  # step 0: the time-lapse starts from noise
        except OSError as e:
            yield self._write_error_event(target, start, e)
            return
        barrier(self.dist)
        halted = False  # set by rank 0 after an error; with several processes every rank must stop together
        while True:
            wants_stop = (
                halted
                or self.trainer.global_step >= target
                or (should_stop is not None and should_stop())
                or time.perf_counter() >= deadline
            )
            if any_across(self.dist, wants_stop, self.trainer.device):
                break
            try:
                losses = self.trainer.step()
            except torch.OutOfMemoryError:
                event = self._out_of_memory(target, start)
                yield event
                if event.stopped:
                    return
                continue
            if not all(math.isfinite(v) for v in losses.values()):  # averaged over ranks: all see it
                yield self._diverged(target, start, losses)
                return
            now = time.perf_counter()
            step = self.trainer.global_step
            rate = self.trainer.images_per_step / max(now - t_last, 1e-9)
            self._ips = rate if self._ips == 0 else 0.9 * self._ips + 0.1 * rate
            t_last = now
            event = TrainEvent(step, target, losses, self._ips, now - start)
            event.messages += self.health.observe_losses(step, losses)
            try:
                if self.dist.is_main:
                    self._scheduled_work(event, step, target, s)
            except CheckpointError:  # non-finite weights with finite losses: same as a divergence
                if not self.dist.active:
                    yield self._diverged(target, start, losses)
                    return
                event.messages.append(
                    "Training diverged (the weights became NaN); stopped at the last good checkpoint.")
                event.stopped, halted = "diverged", True
            except OSError as e:
                self._write_error_event(target, start, e, event)
                halted = True
            yield event
        if halted:
            return
        try:
            if not self._has_checkpoint_at(self.trainer.global_step):
                self.save_checkpoint()
        except OSError as e:
            yield self._write_error_event(target, start, e)

    def _scheduled_work(self, event: TrainEvent, step: int, target: int, s: RunSettings) -> None:
        log_now = step % s.log_every == 0 or step == target
        if s.metric_every and (step % s.metric_every == 0 or step == target):
            event.quality = self.trainer.quality()
            event.messages += self.health.observe_quality(step, event.quality)
            log_now = True  # a quality measurement is always logged, whatever log_every says
        if log_now:
            record = {"step": step, **event.losses, "images_per_s": round(self._ips, 2), "time": time.time()}
            self.project.append_history({**record, **(event.quality or {})})
        if step % s.sample_every == 0 or step == target:
            event.samples, path = self.save_samples()
            event.sample_path = str(path)
        if step % s.checkpoint_every == 0 or step == target:
            event.checkpoint_path = str(self.save_checkpoint())

    def _diverged(self, target: int, start: float, losses: dict[str, float]) -> TrainEvent:
        bad_step = self.trainer.global_step
        restored = self.restore_latest()
        text = (
            f"Training diverged at step {bad_step} (the losses became NaN or infinite). Rolled back to the last "
            f"good checkpoint, step {restored}, and paused. Resuming repeats the same steps; to avoid it, "
            "restart with the 'stable' preset or a lower learning rate."
        )
        return TrainEvent(restored, target, losses, self._ips, time.perf_counter() - start,
                          messages=[text], stopped="diverged")

    def _out_of_memory(self, target: int, start: float) -> TrainEvent:
        if self.trainer.device.type == "cuda":
            torch.cuda.empty_cache()
        old = self.trainer.batch
        new = self.trainer.reduce_batch()
        now = time.perf_counter() - start
        if new is not None:
            text = f"Out of memory at batch {old}: continuing with batch {new}."
            return TrainEvent(self.trainer.global_step, target, {}, self._ips, now, messages=[text])
        text = "Out of memory even at the smallest batch: stopped. Try a smaller image size, or the CPU."
        try:
            self.save_checkpoint()
        except OSError:
            pass
        return TrainEvent(self.trainer.global_step, target, {}, self._ips, now, messages=[text],
                          stopped="out_of_memory")

    def _write_error_event(self, target: int, start: float, err: OSError,
                           event: TrainEvent | None = None) -> TrainEvent:
        reason = err.strerror or str(err)
        text = (
            f"Cannot write to the project folder {self.project.root} ({reason}). Training is paused and your "
            "model is kept in memory: free some disk space (or make the folder writable) and resume."
        )
        ev = event or TrainEvent(self.trainer.global_step, target, {}, self._ips, time.perf_counter() - start)
        ev.messages.append(text)
        ev.stopped = "write_error"
        ev.error = reason
        return ev

    def _has_checkpoint_at(self, step: int) -> bool:
        return self.project.checkpoint_path(step).exists()
