"""Rendering for the explorer in a background QThread, where the newest request wins.

The pattern is StyleGAN3 visualizer's `AsyncRenderer`, with Qt threads instead of a process:

* The GUI thread submits requests (latents to render, or a job to run with the model) under a
  *key* ("pad", "grid", "gallery", ...). Each request gets a stamp from a counter. Per key only
  the newest request waits: submitting a newer one drops the queued older one (`dropped(stamp)`),
  so a fast drag never builds a backlog and the picture never lags behind the mouse.
* `RenderWorker` (a plain worker on the controller's WorkerThread) owns its generator: it loads a project's
  checkpoint itself or copies weights handed over from a running training (`set_weights`); the
  trainer and the renderer never share a module. It serves the waiting request of the most urgent
  priority (0: the picture under the user's hand; 1: backgrounds such as the pad's map or the
  gallery; 2: long jobs), oldest first within a priority, and emits
  `rendered(stamp, uint8 (B, H, W, C))` through the controller's `RenderSignals`.
* `RenderController` (GUI thread) owns the signals object, the worker and its thread, and turns
  results into `ready(key, stamp, pictures)`. A result is stale, and silently discarded, when the worker has
  already finished a newer request for the same key: results queued behind a busy GUI thread are
  skipped to the newest instead of being painted one after another.

A busy worker thread has no event loop, so requests and control go through thread-safe methods
guarded by a `threading.Condition`, and everything emitted is plain data (numpy arrays, str).
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.app.worker_thread import SignalsOwner, WorkerThread
from studio.engine.errors import UserError

Job = Callable[[object], object]  # fn(renderer) -> result, run on the render thread
UPGRADE_AFTER_S = 2.0  # live training weights move to the fast backend after this long without new ones


@dataclass(frozen=True)
class ModelInfo:
    """What the worker is rendering with (emitted with `model_ready`)."""

    z_dim: int  # latent length
    size: int  # image side in pixels
    channels: int  # 1, 3 or 4
    step: int  # training step of the weights
    backend: str  # "onnxruntime" or "torch"
    device: str  # e.g. "cpu", "cuda"
    source: str  # project folder, or "training" for weights handed over by a running run
    setup_s: float  # seconds spent preparing the model
    space: str = "z"  # the latent space the explorer works in now ("z", or "w" for style-based models)
    spaces: tuple = field(default=(), repr=False)  # spaces.LatentSpace of each space the model has
    classes: tuple[str, ...] = ()  # the classes the generator draws on request (sub-folders); () without

    @property
    def latent_space(self):
        """The `spaces.LatentSpace` of `space`: what the views' latents are (their length, centre, seeds)."""
        for s in self.spaces:
            if s.name == self.space:
                return s
        from studio.engine.explore.spaces import z_space

        return z_space(self.z_dim)

    @property
    def dim(self) -> int:
        """Length of the views' latents in the current space (z_dim in z; num_ws * w_dim in W)."""
        return self.latent_space.dim

    @property
    def space_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.spaces) or ("z",)


@dataclass
class _Request:
    stamp: int
    key: str
    latents: np.ndarray | None = None  # (B, dim) float32 to render, in `space`
    job: Job | None = None  # or a function of the renderer to run
    priority: int = 0  # lower is served first (0 interactive, 1 background, 2 long jobs)
    space: str = "z"  # the latent space of `latents`
    labels: np.ndarray | None = None  # class weights (num_classes,) to draw, for a generator with classes


class RenderSignals(QObject):
    """The render thread's signals, owned by the RenderController for its whole life."""

    # views listen to these
    ready = Signal(str, int, object)  # (key, stamp, uint8 (B, H, W, C)): the newest result of a key
    computed = Signal(str, int, object)  # (key, stamp, job result)
    failed = Signal(str)  # one line for the user
    model_ready = Signal(object)  # ModelInfo
    backend_changed = Signal(str)  # live weights moved to the fast backend (same pictures, faster)
    # the worker tells its controller, which decides what is stale
    rendered = Signal(int, object)  # (stamp, uint8 (B, H, W, C) numpy)
    job_done = Signal(int, object)  # (stamp, result of a job)
    dropped = Signal(int)  # stamp of a queued request replaced by a newer one with the same key
    request_failed = Signal(int, str)  # (stamp, one line): which request could not be served


class RenderWorker:
    """Owns one generator and renders requests on the render thread.

    `submit`, `submit_job`, `load_project`, `set_weights`, `set_model` and `stop` may be called
    from any thread; `run()` runs on the render thread until `stop()`."""

    def __init__(self, signals: RenderSignals, backend: str = "auto", threads: int | None = None,
                 device: str = "auto"):
        """`device`: auto (CUDA, then Apple GPU, then CPU) | cpu | cuda | mps. `backend`: auto
        (onnxruntime on a CPU, the model itself on a GPU) | torch | onnxruntime."""
        self._signals = signals
        self._backend = backend
        self._threads = threads
        self._device = device
        self._cond = threading.Condition()
        self._stamps = itertools.count(1)
        self._pending: dict[str, _Request] = {}
        self._finished: dict[str, int] = {}  # newest stamp rendered per key
        # ("project", path, checkpoint, keep_space) | ("weights", kind, cfg, state, step) | ("model", m)
        self._model_change: tuple | None = None
        self._stop = False
        self._upgrade_at: float | None = None  # monotonic time to move live weights to onnxruntime
        self._renderer = None  # only touched on the worker thread
        self.space = "z"  # the space the explorer chose (set by the controller); new models keep it if they can
        # A project was opened: its first model (its checkpoint, or a run's live weights when it has
        # none yet) opens in the model's default space; later ones keep the space chosen. Worker thread only.
        self._opened = False
        self.renders = 0  # requests served (statistics)
        self.drops = 0  # requests replaced before they were served

    # ----- any thread ----------------------------------------------------------------------------
    def submit(self, key: str, latents, priority: int = 0, space: str = "z", labels=None) -> int:
        """Queue latents of `space` ((B, dim) or (dim,)) for rendering under `key`; returns the stamp.
        A request still waiting under the same key is dropped. `labels`: class weights to draw."""
        z = np.array(latents, dtype=np.float32, copy=True)  # the caller may reuse its array
        if z.ndim == 1:
            z = z[None]
        return self._enqueue(key, latents=z, priority=priority, space=space, labels=labels)

    def submit_job(self, key: str, job: Job, priority: int = 2) -> int:
        """Queue `job(renderer)` to run on the render thread (e.g. principal directions); the result
        comes back with `computed(stamp, result)`. Newest-wins per key like renders."""
        return self._enqueue(key, job=job, priority=priority)

    def _enqueue(self, key: str, **kw) -> int:
        with self._cond:
            stamp = next(self._stamps)
            old = self._pending.get(key)
            self._pending[key] = _Request(stamp, key, **kw)
            self._cond.notify()
        if old is not None:
            self.drops += 1
            self._signals.dropped.emit(old.stamp)
        return stamp

    def load_project(self, project_dir: Path | str, checkpoint: Path | str | None = None, *,
                     keep_space: bool = True) -> None:
        """Load the EMA generator of a project's latest (or a given) checkpoint on the render thread.
        `model_ready` or `failed` follows. `keep_space`: stay in the space explored now where the model
        has it (reloading a project); otherwise open in the model's default space (a project opened)."""
        self._change(("project", str(project_dir), checkpoint, keep_space))

    def set_weights(self, cfg, state: dict, step: int = 0, *, kind) -> None:
        """Render with new EMA weights of `kind` (a ModelKind) from a running training (a CPU copy such
        as `trainer.generator_state()`; they are copied again into the worker's own model)."""
        self._change(("weights", kind, cfg, state, step))

    def set_model(self, model) -> None:
        """Hand over a GeneratorModel (the caller must not use it afterwards)."""
        self._change(("model", model))

    def _change(self, what: tuple) -> None:
        with self._cond:
            self._model_change = what  # the newest model wins too
            self._cond.notify()

    def stop(self) -> None:
        """Ask `run()` to return after the current request."""
        with self._cond:
            self._stop = True
            self._cond.notify()

    def finished_stamp(self, key: str) -> int:
        """Stamp of the newest request rendered under `key` (0 if none)."""
        with self._cond:
            return self._finished.get(key, 0)

    @property
    def has_model(self) -> bool:
        return self._renderer is not None

    # ----- worker thread -------------------------------------------------------------------------------
    def run(self) -> None:
        """The render loop: wait, apply model changes first, then serve the most urgent request;
        when idle, upgrade live training weights to the fast backend (see `_apply_change`)."""
        while True:
            upgrade = False
            with self._cond:
                while not self._stop and self._model_change is None and (not self._pending or self._renderer is None):
                    if self._upgrade_at is not None:
                        left = self._upgrade_at - time.monotonic()
                        if left <= 0:
                            upgrade = True
                            break
                        self._cond.wait(left)
                    else:
                        self._cond.wait()
                if self._stop:
                    return
                change, self._model_change = self._model_change, None
                request = None
                if change is None and not upgrade:
                    request = min(self._pending.values(), key=lambda r: (r.priority, r.stamp))
                    del self._pending[request.key]
            if change is not None:
                self._apply_change(change)
            elif upgrade:
                self._upgrade()
            else:
                self._serve(request)

    def _apply_change(self, change: tuple) -> None:
        from studio.engine.explore.renderer import Renderer, model_from_state

        t0 = time.perf_counter()
        try:
            if change[0] == "project":
                from studio.engine.explore.generator import load_generator

                # set here, on the worker thread, as the change is applied: a load that fails (no
                # checkpoint yet) leaves it set for the run's live weights
                self._opened = not change[3]
                model = load_generator(change[1], change[2], device=self._device)
                source = change[1]
            elif change[0] == "weights":
                from studio.engine.device import pick_device

                _, kind, cfg, state, step = change
                model = model_from_state(cfg, state, step, device=pick_device(self._device), kind=kind)
                source = "training"
            else:
                model, source = change[1], "model"
            # Weights from a running training may arrive every few seconds: exporting them to
            # onnxruntime each time (~0.6 s on a CPU) would stall the pad, so they render with torch at
            # once and move to the fast backend after UPGRADE_AFTER_S without new weights.
            live = change[0] == "weights" and self._backend == "auto" and model.device.type == "cpu"
            renderer = Renderer(model, "torch" if live else self._backend, self._threads)
            self._upgrade_at = time.monotonic() + UPGRADE_AFTER_S if live else None
        except UserError as e:
            self._signals.failed.emit(str(e))
            return
        except Exception as e:  # noqa: BLE001 - reported to the user, the worker keeps running
            traceback.print_exc()
            self._signals.failed.emit(f"cannot load the generator: {e.__class__.__name__}: {e}")
            return
        self._renderer = renderer
        cfg = model.cfg
        # Each space with its own copy of the mapping, so the GUI thread can map seeds to w itself.
        spaces = tuple(model.latent_space(name) for name in model.spaces)
        if self._opened and change[0] != "model":
            space, self._opened = model.default_space, False
        else:  # live weights of a run, a reload: they keep the space
            space = self.space if self.space in model.spaces else "z"
        self._signals.model_ready.emit(ModelInfo(model.z_dim, cfg.size, cfg.channels, model.step, renderer.backend,
                                                 str(model.device), source, time.perf_counter() - t0,
                                                 space=space, spaces=spaces, classes=model.class_names))

    def _upgrade(self) -> None:
        from studio.engine.explore.renderer import Renderer

        self._upgrade_at = None
        try:
            renderer = Renderer(self._renderer.model, self._backend, self._threads)
        except Exception:  # noqa: BLE001 - stay on torch: slower, still correct
            traceback.print_exc()
            return
        self._renderer = renderer
        self._signals.backend_changed.emit(renderer.backend)

    def _serve(self, request: _Request) -> None:
        try:
            if request.job is not None:
                result = request.job(self._renderer)
            else:
                result = self._renderer.generate(request.latents, request.space, request.labels)
        except UserError as e:
            self._fail(request, str(e))
            return
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            self._fail(request, f"{e.__class__.__name__}: {e}")
            return
        with self._cond:
            self._finished[request.key] = request.stamp
        self.renders += 1
        (self._signals.job_done if request.job is not None else self._signals.rendered).emit(request.stamp, result)

    def _fail(self, request: _Request, message: str) -> None:
        with self._cond:
            self._finished[request.key] = request.stamp
        self._signals.request_failed.emit(request.stamp, message)
        self._signals.failed.emit(message)


class RenderController(SignalsOwner):
    """GUI-thread owner of a RenderWorker and its thread. Views call `request()` and listen to
    `ready(key, stamp, pictures)`, `computed`, `failed`, `model_ready` and `backend_changed` (its
    RenderSignals); `shutdown()` joins the thread (call it before the owner closes)."""

    def __init__(self, backend: str = "auto", threads: int | None = None, device: str = "auto",
                 parent: QObject | None = None):
        super().__init__(parent)
        self.signals = RenderSignals(self)
        self.worker = RenderWorker(self.signals, backend, threads, device)
        self._runner = WorkerThread("gan-studio-render", self)
        self._keys: dict[int, str] = {}  # stamp -> key of requests in flight
        self._delivered: dict[str, int] = {}  # newest stamp delivered per key
        self.info: ModelInfo | None = None
        self.space = "z"  # the explorer's latent space: requests are rendered in it
        # What a generator with classes draws: weights over info.classes (one-hot: a class; a mix: a point
        # between classes); every request is rendered with it.
        self.class_weights: np.ndarray | None = None
        self.discarded = 0  # stale results skipped (statistics)
        sig = self.signals
        sig.rendered.connect(self._on_rendered)
        sig.job_done.connect(self._on_job_done)
        sig.dropped.connect(self._on_dropped)
        sig.request_failed.connect(self._on_request_failed)
        # connected before any view: `info` is up to date when a view hears the same signal
        sig.model_ready.connect(self._on_model_ready)
        sig.backend_changed.connect(self._on_backend_changed)
        self._runner.start(self.worker)

    # ----- requests ----------------------------------------------------------------------------------
    def request(self, key: str, latents, priority: int = 0, space: str | None = None, labels=None) -> int:
        """Render latents (B, dim) of the current space (or `space`) under `key`; newest wins.
        `priority` 0 is for what the user is touching now, 1 for background pictures (served when
        nothing urgent waits). `labels`: class weights (classes,) or (B, classes) to draw instead of
        the chosen class (arithmetic across classes). Returns the stamp."""
        labels = self.class_weights if labels is None else labels
        stamp = self.worker.submit(key, latents, priority, space or self.space, labels)
        self._keys[stamp] = key
        return stamp

    def compute(self, key: str, job: Job, priority: int = 2) -> int:
        """Run `job(renderer)` on the render thread; the result arrives with `computed`."""
        stamp = self.worker.submit_job(key, job, priority)
        self._keys[stamp] = key
        return stamp

    @property
    def has_model(self) -> bool:
        return self.info is not None

    # ----- model ----------------------------------------------------------------------------------------
    def load_project(self, project_dir, checkpoint=None, *, keep_space: bool = True) -> None:
        self.worker.load_project(project_dir, checkpoint, keep_space=keep_space)

    def set_weights(self, cfg, state: dict, step: int = 0, *, kind) -> None:
        self.worker.set_weights(cfg, state, step, kind=kind)

    def set_model(self, model) -> None:
        self.worker.set_model(model)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop the worker and join its thread (idempotent)."""
        self.worker.stop()
        self._runner.join(timeout_s)

    # ----- results (GUI thread) ---------------------------------------------------------------------
    def _accept(self, stamp: int) -> str | None:
        key = self._keys.pop(stamp, None)
        if key is None:
            return None
        # Stale: the worker already finished a newer request of this key (its result is queued
        # right behind this one), or a newer result was delivered already.
        if stamp < self.worker.finished_stamp(key) or stamp <= self._delivered.get(key, 0):
            self.discarded += 1
            return None
        self._delivered[key] = stamp
        return key

    def _on_rendered(self, stamp: int, pictures) -> None:
        key = self._accept(stamp)
        if key is not None:
            self.signals.ready.emit(key, stamp, pictures)

    def _on_job_done(self, stamp: int, result) -> None:
        key = self._accept(stamp)
        if key is not None:
            self.signals.computed.emit(key, stamp, result)

    def _on_dropped(self, stamp: int) -> None:
        self._keys.pop(stamp, None)

    def _on_request_failed(self, stamp: int, message: str) -> None:
        self._keys.pop(stamp, None)

    def set_space(self, space: str) -> None:
        """Explore in another latent space of the model ("z" or "w"): views hear `model_ready` with the
        new `info.space` and move their latents over. A space the model lacks is ignored."""
        if self.info is not None and (space not in self.info.space_names or space == self.space):
            return
        self.space = self.worker.space = space
        if self.info is not None:
            self.signals.model_ready.emit(replace(self.info, space=space))

    def set_class_weights(self, weights) -> None:
        """Draw as the class `weights` (over `info.classes`: one-hot for a class, a mix for a point
        between classes): the views hear `model_ready` again and render their latents anew."""
        if self.info is None or not self.info.classes:
            return
        w = np.asarray(weights, dtype=np.float32).reshape(-1)
        if len(w) != len(self.info.classes):
            raise ValueError(f"class weights must have {len(self.info.classes)} values, got {len(w)}")
        self.class_weights = w
        self.signals.model_ready.emit(replace(self.info))

    def _on_model_ready(self, info: ModelInfo) -> None:
        if info.classes != (self.info.classes if self.info is not None else ()):
            # another model's classes: start from its first class
            self.class_weights = np.eye(len(info.classes), dtype=np.float32)[0] if info.classes else None
        self.info = info
        self.space = self.worker.space = info.space

    def _on_backend_changed(self, backend: str) -> None:
        import dataclasses

        if self.info is not None:
            self.info = dataclasses.replace(self.info, backend=backend)
