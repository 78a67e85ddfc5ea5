"""Training in a background QThread: the engine's step loop behind Qt signals.

`TrainWorker` runs on the controller's WorkerThread (DESIGN.md §3, the pattern of
worker_thread.py). Its `run()` builds the training session (decoding the images, with progress),
then iterates the engine's `TrainingSession.run()` generator. A busy worker thread has no event
loop to deliver slots, so pause / resume / single step / stop are plain thread-safe methods that
flip flags under a `threading.Condition`, checked between steps. Everything the worker emits
through `TrainSignals` is plain data (numpy arrays, dataclasses, str): it never touches a widget,
and numpy -> QImage happens in the UI.

`TrainController` lives on the GUI thread and owns the signals object and one worker + thread at a
time: it starts the thread, tracks the run's `WorkerState`, and joins the thread on stop or close,
so no test or window ever leaves a QThread running.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from PySide6.QtCore import QObject, Signal

from studio.app.worker_thread import SignalsOwner, WorkerThread
from studio.engine.errors import Cancelled, UserError

# (progress(done, total), should_cancel()) -> TrainingSession. Runs on the worker thread.
SessionFactory = Callable[[Callable[[int, int], None], Callable[[], bool]], object]

PROGRESS_INTERVAL_S = 0.05  # at most 20 progress signals a second: the GUI repaints, it need not see every step


@dataclass(frozen=True)
class TrainReady:
    """The session is built and about to train (emitted once per run)."""

    project: str  # project folder
    kind: str  # model kind name
    step: int  # step the run starts from (0 for a new project)
    target: int  # step the run is heading for
    device: str  # human label, e.g. "CPU (1 thread)"
    images_per_step: int  # batch size (images consumed by one step)
    warnings: tuple[str, ...] = ()  # messages for the user (e.g. the dataset changed)


@dataclass(frozen=True)
class TrainProgress:
    """Where the run stands, emitted at most every PROGRESS_INTERVAL_S (and at every sample/checkpoint)."""

    step: int  # steps completed
    target: int  # step the run is heading for
    losses: dict[str, float]  # losses of the latest step
    images_per_s: float  # smoothed throughput, pauses excluded
    eta_s: float | None  # seconds left at the current speed (None before the first timed step)
    # every (step, losses) since the last emit: the loss plot misses nothing
    records: tuple[tuple[int, dict[str, float]], ...] = ()
    checkpoint_path: str | None = None  # a checkpoint written since the last emit
    messages: tuple[str, ...] = ()  # warnings for the user since the last emit (health, batch halved, ...)
    quality: dict[str, float] | None = None  # the latest offline quality measurement (SWD, diversity)


@dataclass(frozen=True)
class TrainResult:
    """How a run ended (successfully or stopped by the user)."""

    project: str
    step: int  # last completed step
    target: int
    checkpoint_path: str | None  # the checkpoint holding `step` (None if none could be written)
    stopped: bool  # True when the run ended before the target (the user stopped it, or the engine did)
    reason: str | None = None  # why the engine stopped it: "diverged" | "write_error" | "out_of_memory"
    messages: tuple[str, ...] = ()  # what the engine said about it, for the user


@dataclass(frozen=True)
class GeneratorWeights:
    """A CPU copy of the generator weights of a running training (for exploring mid-training).

    The trainer and the explorer never share an nn.Module (DESIGN.md §3): this is a copy."""

    kind: str  # the kind's name: studio.engine.models.get_kind(kind) answers what the weights can do
    config: object  # the model config dataclass (the kind's config_cls)
    state: dict  # tensor name -> CPU tensor (trainer.generator_state())
    step: int  # the step these weights are from


class WorkerState(Enum):
    IDLE = "idle"
    PREPARING = "preparing"  # decoding images / restoring the checkpoint
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"


@dataclass
class _Flags:
    paused: bool = False
    stop: bool = False
    single_steps: int = 0  # steps granted while paused
    want_weights: bool = False  # hand a generator copy over at the next gap between steps
    messages: list[str] = field(default_factory=list)


class TrainSignals(QObject):
    """What a training run tells the GUI (plain data only). Owned by the TrainController for its
    whole life; each run's TrainWorker emits through it."""

    preparing = Signal(int, int)  # (done, total) images decoded while building the session
    ready = Signal(object)  # TrainReady
    progress = Signal(object)  # TrainProgress
    samples = Signal(int, object)  # (step, uint8 (H, W, C) numpy grid), saved as a snapshot
    preview = Signal(int, object)  # (step, grid) after a single step: shown, not saved, not a snapshot
    paused_changed = Signal(bool)  # the loop really is blocked (True) / running again (False)
    finished = Signal(object)  # TrainResult
    failed = Signal(str)  # one line for the user; the run is over
    generator_weights = Signal(object)  # GeneratorWeights, answering request_generator_weights()
    state_changed = Signal(object)  # WorkerState (emitted by the controller)


class TrainWorker:
    """Trains one session on the controller's thread and reports through its TrainSignals.

    Control methods (`pause`, `resume`, `step_once`, `stop`) may be called from any thread; the
    worker honours them between steps. `run()` runs on the worker thread."""

    def __init__(
        self,
        make_session: SessionFactory,
        signals: TrainSignals,
        until_step: int | None = None,
        start_paused: bool = False,
        cpu_threads: str | int | None = "background",
    ):
        """`make_session` builds the TrainingSession on the worker thread. `cpu_threads`: "leave-one"
        caps torch at cores-1 so the GUI thread keeps a core, "background" uses every core at a
        lower priority, an int sets the count, None leaves torch alone."""
        self._signals = signals
        self._make_session = make_session
        self._until_step = until_step
        self._cpu_threads = cpu_threads
        self._cond = threading.Condition()
        self._flags = _Flags(paused=start_paused)
        self._trainer = None
        self._last = None
        self._blocked = False  # gate is currently waiting (worker thread only)
        self._single = False  # the step under way was granted one at a time while paused (worker thread only)

    # ----- control: any thread ---------------------------------------------------------------------
    def pause(self) -> None:
        """Ask the loop to pause after the current step. Any thread."""
        with self._cond:
            self._flags.paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        """Continue after a pause. Any thread."""
        with self._cond:
            self._flags.paused = False
            self._flags.single_steps = 0
            self._cond.notify_all()

    def step_once(self) -> None:
        """While paused: run exactly one more step, then stay paused. Any thread."""
        with self._cond:
            self._flags.paused = True
            self._flags.single_steps += 1
            self._cond.notify_all()

    def stop(self) -> None:
        """Ask the loop to stop after the current step; it saves a checkpoint, then emits finished. Any thread."""
        with self._cond:
            self._flags.stop = True
            self._cond.notify_all()

    def request_generator_weights(self) -> None:
        """Ask for a CPU copy of the generator between steps (also while paused); answered by the
        generator_weights signal. Any thread."""
        with self._cond:
            self._flags.want_weights = True
            self._cond.notify_all()

    @property
    def stop_requested(self) -> bool:
        with self._cond:
            return self._flags.stop

    # ----- the loop: worker thread -----------------------------------------------------------------
    def _hand_over_weights(self) -> None:
        """Worker thread, between steps, with the lock held."""
        if not self._flags.want_weights or self._trainer is None:
            return
        self._flags.want_weights = False
        t = self._trainer
        self._signals.generator_weights.emit(GeneratorWeights(t.kind, t.cfg, t.generator_state(), int(t.global_step)))

    def _gate(self) -> bool:
        """Called by the engine before every step: blocks while paused; True means stop."""
        with self._cond:
            self._single = False
            self._hand_over_weights()
            if self._flags.stop:
                return True
            if not self._flags.paused:
                return False
            if self._flags.single_steps:
                self._flags.single_steps -= 1
                self._single = True
                return False
            self._flush(force=True)
            self._signals.paused_changed.emit(True)
            while self._flags.paused and not self._flags.stop and not self._flags.single_steps:
                self._cond.wait()
                self._hand_over_weights()
            if self._flags.stop:
                return True  # ends paused: the run is over, not resumed
            if self._flags.single_steps and self._flags.paused:
                self._flags.single_steps -= 1
                self._single = True
                return False  # still paused: no paused_changed(False) for one granted step
            self._signals.paused_changed.emit(False)
            return False

    def _setup_threads(self) -> None:
        from studio.engine.device import set_cpu_threads

        if self._cpu_threads == "leave-one":
            set_cpu_threads(leave_free=1)
        elif self._cpu_threads == "background":
            # Every core, at a lower priority: the GUI thread preempts training when it has work
            # (a repaint, a drag) and training takes the rest. Before the first torch op on this
            # thread, so the OpenMP team it starts inherits the priority.
            from studio.engine.device import lower_this_thread_priority

            lower_this_thread_priority()
            set_cpu_threads(leave_free=0)
        elif isinstance(self._cpu_threads, int):
            import torch

            torch.set_num_threads(max(1, self._cpu_threads))

    def run(self) -> None:
        """Build the session and train; emits finished or failed exactly once. Worker thread only."""
        session = None
        failed = self._signals.failed
        try:
            self._setup_threads()
            session = self._make_session(self._signals.preparing.emit, lambda: self.stop_requested)
            self._train(session)
        except Cancelled:  # stopped while the session was being built
            failed.emit("Cancelled while preparing the images.")
        except UserError as e:
            failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - any crash becomes a message, never a dead GUI
            traceback.print_exc()
            failed.emit(f"Training failed: {e.__class__.__name__}: {e}")
        finally:
            # The trainer (weights, optimizer, the dataset on the device) dies with this run, even though
            # the worker object itself may outlive it a little.
            if session is not None:
                session.close()  # the project's training lock: the command line may train it now
            del session
            self._trainer = None
            self._last = None

    def _train(self, session) -> None:
        from studio.engine.train.fast_path import describe_training

        trainer = session.trainer
        project = session.project
        target = self._until_step if self._until_step is not None else session.settings.steps
        self._signals.ready.emit(
            TrainReady(
                project=str(project.root),
                kind=project.kind,
                step=trainer.global_step,
                target=target,
                device=describe_training(trainer),  # the device and the fast path measured for it
                images_per_step=int(trainer.images_per_step),
                warnings=tuple(session.warnings),
            )
        )
        if trainer.global_step == 0 and not project.sample_path(0).exists():
            grid, _ = session.save_samples()  # show the starting noise at once; run() then skips step 0
            self._signals.samples.emit(0, grid)

        self._target = target
        self._pending: list[tuple[int, dict[str, float]]] = []
        self._pending_ckpt: str | None = None
        self._pending_msgs: list[str] = []
        self._last_emit = 0.0
        self._step_s = 0.0  # smoothed seconds per step, pauses excluded
        self._images_per_step = int(trainer.images_per_step)
        self._last = None
        self._trainer = trainer
        self._quality: dict[str, float] | None = None
        t_gate = [time.perf_counter()]

        def gate() -> bool:
            stop = self._gate()
            t_gate[0] = time.perf_counter()  # the step's clock starts when the gate lets it through
            return stop

        last_ckpt = None
        reason, reason_msgs = None, []
        for ev in session.run(until_step=target, should_stop=gate):
            if ev.stopped:
                # The engine ended the run itself (diverged and rolled back, disk not writable, out of
                # memory). Its step may be the rolled-back one: no loss record, just the reason.
                reason, reason_msgs = ev.stopped, list(ev.messages)
                continue
            self._images_per_step = int(trainer.images_per_step)  # the batch may have been halved (OOM)
            self._pending_msgs += ev.messages
            if not ev.losses:  # an event without a step (e.g. "continuing with a smaller batch")
                self._flush(force=True)
                continue
            dt = time.perf_counter() - t_gate[0]
            self._step_s = dt if self._step_s == 0 else 0.9 * self._step_s + 0.1 * dt
            self._last = ev
            self._pending.append((ev.step, {**ev.losses, **(ev.quality or {})}))
            if ev.quality:
                self._quality = dict(ev.quality)
            if ev.checkpoint_path:
                self._pending_ckpt = last_ckpt = ev.checkpoint_path
            if ev.samples is not None:
                self._flush(force=True)
                self._signals.samples.emit(ev.step, ev.samples)
            elif self._single:
                # One step at a time is for watching what a step does: show its samples at once,
                # arriving with the step's progress (drawn before it is announced).
                grid = trainer.samples()
                self._flush(force=True)
                self._signals.preview.emit(ev.step, grid)
            else:
                self._flush(force=ev.step >= target)
        # run() has written a checkpoint for the last step when it ended (normally or on stop)
        step = trainer.global_step
        ckpt = project.checkpoint_path(step)
        if ckpt.exists():
            last_ckpt = str(ckpt)
            self._pending_ckpt = last_ckpt
        self._flush(force=True)
        self._signals.finished.emit(
            TrainResult(str(project.root), step, target, last_ckpt, stopped=step < target, reason=reason,
                        messages=tuple(reason_msgs))
        )

    def _flush(self, force: bool = False) -> None:
        """Emit pending progress if due (throttled) or forced. Worker thread only."""
        if not getattr(self, "_pending", None) and not force:
            return
        now = time.perf_counter()
        if not force and now - self._last_emit < PROGRESS_INTERVAL_S:
            return
        if not self._pending and not self._pending_ckpt and not self._pending_msgs:
            return
        if self._last is None:
            if self._pending_msgs:
                self._signals.progress.emit(TrainProgress(
                    step=self._trainer.global_step, target=self._target, losses={}, images_per_s=0.0, eta_s=None,
                    messages=tuple(self._pending_msgs)))
                self._pending_msgs = []
            return
        ev = self._last
        ips = self._images_per_step / self._step_s if self._step_s > 0 else 0.0
        eta = (self._target - ev.step) * self._step_s if self._step_s > 0 else None
        self._signals.progress.emit(
            TrainProgress(
                step=ev.step,
                target=self._target,
                losses=dict(ev.losses),
                images_per_s=ips,
                eta_s=eta,
                records=tuple(self._pending),
                checkpoint_path=self._pending_ckpt,
                messages=tuple(self._pending_msgs),
                quality=self._quality,
            )
        )
        self._pending = []
        self._pending_ckpt = None
        self._pending_msgs = []
        self._last_emit = now


class TrainController(SignalsOwner):
    """Owns the training thread for the GUI: start, pause, resume, single step, stop, join.

    GUI thread only. Its TrainSignals (`preparing`, `ready`, `progress`, `samples`, `preview`,
    `paused_changed`, `finished`, `failed`, `generator_weights`, `state_changed`) outlive every run,
    so views connect once to the controller, not to each short-lived worker. The controller
    connects first, so its `state` is up to date when a view hears `ready` or `paused_changed`."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.signals = TrainSignals(self)
        self._runner = WorkerThread("gan-studio-train", self)
        self._runner.ended.connect(lambda: self._set_state(WorkerState.IDLE))
        self._state = WorkerState.IDLE
        self.signals.ready.connect(self._on_ready)
        self.signals.paused_changed.connect(self._on_paused_changed)

    @property
    def state(self) -> WorkerState:
        return self._state

    @property
    def busy(self) -> bool:
        """A run is in progress (preparing, running, paused or stopping)."""
        return self._runner.running

    @property
    def _worker(self) -> TrainWorker | None:
        return self._runner.worker

    def _set_state(self, state: WorkerState) -> None:
        if state != self._state:
            self._state = state
            self.signals.state_changed.emit(state)

    def start(
        self,
        make_session: SessionFactory,
        until_step: int | None = None,
        start_paused: bool = False,
        cpu_threads: str | int | None = "background",
    ) -> TrainWorker:
        """Start a run on a new thread. Raises RuntimeError if one is already in progress."""
        if self._runner.running:
            raise RuntimeError("a training run is already in progress")
        worker = TrainWorker(make_session, self.signals, until_step, start_paused, cpu_threads)
        self._set_state(WorkerState.PREPARING)
        self._runner.start(worker)
        return worker

    # ----- control --------------------------------------------------------------------------------
    def pause(self) -> None:
        if self._worker is not None:
            self._worker.pause()

    def resume(self) -> None:
        if self._worker is not None:
            self._worker.resume()
            if self._state == WorkerState.PAUSED:
                self._set_state(WorkerState.RUNNING)

    def step_once(self) -> None:
        if self._worker is not None:
            self._worker.step_once()

    def request_generator_weights(self) -> bool:
        """Ask the running trainer for a copy of its generator (generator_weights follows); False if idle."""
        if self._worker is None:
            return False
        self._worker.request_generator_weights()
        return True

    def stop(self) -> None:
        """Ask the run to stop after the current step (it saves a checkpoint). Returns at once."""
        if self._worker is not None:
            self._worker.stop()
            self._set_state(WorkerState.STOPPING)

    def join(self, timeout_s: float = 60.0) -> bool:
        """Block until the thread has ended (after `stop()`); True if it did. Queued signals of the
        ending run are still delivered afterwards by the event loop."""
        return self._runner.join(timeout_s)

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stop and join: used on window close. The checkpoint is written before this returns."""
        self.stop()
        return self.join(timeout_s)

    # ----- the run's state (GUI thread, before the views hear the same signal) -------------------------
    def _on_ready(self, info: TrainReady) -> None:
        if self._state == WorkerState.PREPARING:
            self._set_state(WorkerState.RUNNING)

    def _on_paused_changed(self, paused: bool) -> None:
        # a late signal of a run that is already stopping or joined must not revive the state
        if self._runner.running and self._state not in (WorkerState.STOPPING, WorkerState.IDLE):
            self._set_state(WorkerState.PAUSED if paused else WorkerState.RUNNING)
