"""Translating the sketch pad's canvas live, off the GUI thread.

`SketchController` (GUI thread) owns one long-lived `SketchWorker` on its own WorkerThread. The
worker keeps a `LiveTranslator` (the project's translating net at its input size, on the faster of
onnxruntime and PyTorch) and translates the newest canvas it was sent: while one canvas is being
translated, every newer one replaces the one waiting, so a fast stroke never builds a queue and the
result always catches up with the drawing (the latent pad's renderer works the same way). Results
carry the stamp of their request; the controller drops any older than one already shown.

While the studio trains the project, the window may hand over a copy of the running trainer's
generators (`use_weights`), as it does for the Translate panel: the pad then draws with the model as
it is now.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.app.worker_thread import SignalsOwner, WorkerThread
from studio.engine.errors import UserError


@dataclass(frozen=True)
class SketchModel:
    """What the pad translates with (emitted with `model_ready`). Plain data."""

    size: int  # the canvas side in pixels: the model's input size
    in_channels: int  # channels of the drawing the model takes
    step: int  # training step of the weights
    backend: str  # "onnxruntime" or "torch"
    device: str  # e.g. "cpu"
    timings_ms: dict  # backend -> ms of one pass, when both were timed to choose
    live: bool  # a running training's weights, not a saved checkpoint


@dataclass(frozen=True)
class SketchResult:
    """One translated canvas. Plain data."""

    stamp: int  # the request's stamp: newer requests have larger ones
    drawing: np.ndarray  # uint8 (H, W, C): the canvas as it was sent
    result: np.ndarray  # uint8 (H, W, C): its translation
    sent_at: float  # time.perf_counter() when the canvas was sent
    compute_ms: float  # the translation alone


@dataclass(frozen=True)
class _Request:
    stamp: int
    drawing: np.ndarray
    sent_at: float


class SketchSignals(QObject):
    """The sketch thread's signals, owned by the SketchController for its whole life."""

    # views listen to these
    translated = Signal(object)  # SketchResult of the newest request answered
    failed = Signal(str)  # one line for the user
    model_ready = Signal(object)  # SketchModel
    # the worker tells its controller, which drops stale answers
    done = Signal(object)  # SketchResult


class SketchWorker:
    """Loads the model and translates the newest canvas on the sketch thread.

    `load`, `use_weights`, `submit` and `stop` may be called from any thread; `run()` runs on the
    sketch thread until `stop()`."""

    def __init__(self, signals: SketchSignals, device: str = "auto", backend: str = "auto",
                 threads: int | None = None):
        self._signals = signals
        self._device = device
        self._backend = backend
        self._threads = threads
        self._cond = threading.Condition()
        self._pending: _Request | None = None  # only the newest canvas waits
        # ("project", root) | ("weights", GeneratorWeights, meta) | ("translator", LiveTranslator)
        self._change: tuple | None = None
        self._stop = False
        self._live = None  # LiveTranslator; sketch thread only

    # ----- any thread ----------------------------------------------------------------------------
    def load(self, project: str) -> None:
        with self._cond:
            self._change = ("project", project)
            self._cond.notify()

    def use_weights(self, weights, meta: dict) -> None:
        """Translate with a running training's generators (GeneratorWeights) of a project with `meta`."""
        with self._cond:
            self._change = ("weights", weights, meta)
            self._cond.notify()

    def set_translator(self, live) -> None:
        """Translate with this LiveTranslator (the caller must not use it afterwards)."""
        with self._cond:
            self._change = ("translator", live)
            self._cond.notify()

    def submit(self, request: _Request) -> None:
        with self._cond:
            self._pending = request
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()

    # ----- sketch thread -----------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._change is None and (self._pending is None or self._live is None):
                    self._cond.wait()
                if self._stop:
                    return
                change, self._change = self._change, None
                request = None
                if change is None:
                    request, self._pending = self._pending, None
            if change is not None:
                self._load(change)
            else:
                self._translate(request)

    def _load(self, change: tuple) -> None:
        from studio.engine.explore.live_translate import live_from_translator, load_live_translator

        try:
            if change[0] == "project":
                live = load_live_translator(change[1], device=self._device, backend=self._backend,
                                            threads=self._threads)
            elif change[0] == "translator":
                live = change[1]
            else:
                from studio.app.translate_worker import translator_from_weights

                _, weights, meta = change
                translator = translator_from_weights(weights, meta, "a2b")
                # Live weights arrive every few seconds: timing two backends each time would stall
                # the pad, so they run on the net itself, which needs no export.
                live = live_from_translator(translator, int(weights.config.size), backend="torch",
                                            threads=self._threads)
        except UserError as e:
            self._signals.failed.emit(str(e))
            return
        except Exception as e:  # noqa: BLE001 - reported to the user, the worker keeps running
            traceback.print_exc()
            self._signals.failed.emit(f"The model could not be loaded for drawing: {e.__class__.__name__}: {e}.")
            return
        self._live = live
        self._signals.model_ready.emit(SketchModel(live.size, live.in_channels, live.step, live.backend,
                                                   str(live.device), dict(live.timings_ms), change[0] == "weights"))

    def _translate(self, r: _Request) -> None:
        try:
            t0 = time.perf_counter()
            result = self._live.translate(r.drawing)
            ms = (time.perf_counter() - t0) * 1000
        except Exception as e:  # noqa: BLE001 - a message, never a crash
            traceback.print_exc()
            self._signals.failed.emit(f"The drawing could not be translated: {e.__class__.__name__}: {e}.")
            return
        self._signals.done.emit(SketchResult(r.stamp, r.drawing, result, r.sent_at, ms))


class SketchController(SignalsOwner):
    """GUI-thread handle of the sketch thread. Views call `load_project`, `translate`, and listen to
    `translated`, `failed` and `model_ready` (its SketchSignals); `shutdown()` joins the thread."""

    def __init__(self, device: str = "auto", backend: str = "auto", threads: int | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.signals = SketchSignals(self)
        self.signals.done.connect(self._on_done)
        self.signals.model_ready.connect(self._on_model_ready)
        self._args = (device, backend, threads)
        self._runner = WorkerThread("gan-studio-sketch", self)
        self._worker: SketchWorker | None = None
        self._stamp = 0
        self._shown = 0  # stamp of the newest result delivered
        self.model: SketchModel | None = None
        self.discarded = 0  # stale results dropped (statistics)

    def _ensure_worker(self) -> SketchWorker:
        if self._worker is None:
            self._worker = SketchWorker(self.signals, *self._args)
            self._runner.start(self._worker)
        return self._worker

    def load_project(self, project: str | Path) -> None:
        """Load the project's newest checkpoint on the sketch thread; `model_ready` or `failed` follows."""
        self.model = None
        self._ensure_worker().load(str(project))

    def use_weights(self, weights, meta: dict) -> None:
        """Draw with a running training's generators (GeneratorWeights) of a project with `meta`."""
        self._ensure_worker().use_weights(weights, meta)

    def set_translator(self, live) -> None:
        """Draw with a LiveTranslator made elsewhere (a benchmark's); the caller must not use it afterwards."""
        self.model = None
        self._ensure_worker().set_translator(live)

    def translate(self, drawing: np.ndarray) -> int:
        """Queue the canvas (uint8 H, W, C; copied) for translation; returns its stamp. Newest wins."""
        self._stamp += 1
        self._ensure_worker().submit(_Request(self._stamp, np.array(drawing, dtype=np.uint8, copy=True),
                                              time.perf_counter()))
        return self._stamp

    @property
    def latest_stamp(self) -> int:
        return self._stamp

    def _on_model_ready(self, model: SketchModel) -> None:
        self.model = model

    def _on_done(self, result: SketchResult) -> None:
        if result.stamp <= self._shown:
            self.discarded += 1
            return
        self._shown = result.stamp
        self.signals.translated.emit(result)

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop the sketch thread after the canvas being translated; True when it has ended."""
        if self._worker is not None:
            self._worker.stop()
        ok = self._runner.join(timeout_s)
        if ok:
            self._worker = None
        return ok
