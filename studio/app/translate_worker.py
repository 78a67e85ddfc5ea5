"""Trying a CycleGAN on the user's own images, off the GUI thread.

`TranslateController` (GUI thread) owns one long-lived `TranslateWorker` on the app's
WorkerThread, started by the first request. The worker keeps the generator of each direction warm
between requests and reloads it when the project has a newer checkpoint. While the studio trains
the project, the window hands over copies of the running trainer's generators (`use_weights`):
those translate when they are newer than the newest checkpoint, so a training run can be tried
from its first steps, not only after its first save. The newest request wins: only the newest waits, and an image
being translated in tiles stops between tiles when a newer one arrives.

Folder translation is a one-shot job: `translate_folder_task()` returns a function for
`TaskRunner` (progress + cancel).
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.app.worker_thread import SignalsOwner, WorkerThread
from studio.engine.errors import Cancelled, UserError


@dataclass(frozen=True)
class TranslatedImage:
    """One translated picture and where it came from. Plain data."""

    path: str  # the source file
    direction: str  # "a2b" | "b2a"
    before: np.ndarray  # uint8 (H, W, C): the source as the model sees it (full resolution)
    after: np.ndarray  # uint8 (H, W, C): the translation, same H and W
    step: int  # training step of the model that translated it
    live: bool = False  # translated with a running training's weights, not a saved checkpoint


@dataclass(frozen=True)
class _Request:
    rid: int
    project: str
    direction: str
    path: str


class TranslateSignals(QObject):
    """The translation thread's signals, owned by the TranslateController for its whole life."""

    # views listen to these
    image_done = Signal(object)  # TranslatedImage of the newest request
    image_failed = Signal(str)  # one line for the user about the newest request
    busy_changed = Signal(bool)  # a request is being waited for (True) / answered (False)
    # the worker tells its controller, which keeps only the newest request's answer
    done = Signal(int, object)  # (request id, TranslatedImage)
    failed = Signal(int, str)  # (request id, one line for the user)


class TranslateWorker:
    """Translates the newest requested image on the translation thread, keeping each direction's
    generator loaded between requests (seconds to load, milliseconds to reuse).

    `submit`, `release` and `stop` may be called from any thread; `run()` runs on the translation
    thread until `stop()`."""

    def __init__(self, signals: TranslateSignals):
        self._signals = signals
        self._cond = threading.Condition()
        self._pending: _Request | None = None  # only the newest request waits
        self._latest = 0  # id of the newest request: an older one stops between tiles
        self._release = False
        self._stop = False
        self._cache: dict[tuple[str, str], object] = {}  # (project, direction) -> Translator; thread only
        self._live: dict[str, object] = {}  # project -> GeneratorWeights of its running training

    # ----- any thread ----------------------------------------------------------------------------------
    def submit(self, request: _Request) -> None:
        with self._cond:
            self._pending = request
            self._latest = request.rid
            self._cond.notify()

    def set_live(self, project: str, weights) -> None:
        """Translate `project` with these weights (GeneratorWeights) while they are newer than its
        newest checkpoint; None forgets them (the training ended and saved)."""
        with self._cond:
            if weights is None:
                self._live.pop(project, None)
            else:
                self._live[project] = weights

    def release(self) -> None:
        """Drop the cached generators before the next request, e.g. when another project opens."""
        with self._cond:
            self._release = True
            self._cond.notify()

    def stop(self) -> None:
        """Make `run()` return; an image being translated stops at its next tile."""
        with self._cond:
            self._stop = True
            self._latest = -1
            self._cond.notify()

    def latest(self) -> int:
        with self._cond:
            return self._latest

    # ----- translation thread ----------------------------------------------------------------------------
    def run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and self._pending is None and not self._release:
                    self._cond.wait()
                if self._stop:
                    return
                release, self._release = self._release, False
                request, self._pending = self._pending, None
            if release:
                self._cache.clear()
            if request is not None:
                self._translate(request)

    def _translator(self, project: str, direction: str):
        """The Translator of the newest weights: the running training's, or the newest checkpoint's."""
        from studio.engine.explore.translate import Translator
        from studio.engine.project.checkpoints import list_checkpoints
        from studio.engine.project.folder import Project

        # A reader (clean=False): the studio may be training this project, its temp files are live writes.
        opened = Project.open(project, clean=False)
        found = list_checkpoints(opened.checkpoints_dir)
        newest = found[-1][0] if found else None
        with self._cond:
            live = self._live.get(project)
        if live is not None and (newest is None or live.step > newest):
            key = (project, direction)
            cached = self._cache.get(key)
            if cached is None or cached.step != live.step or not getattr(cached, "live", False):
                cached = translator_from_weights(live, opened.meta, direction)
                self._cache[key] = cached
            return cached
        key = (project, direction)
        cached = self._cache.get(key)
        if cached is None or getattr(cached, "live", False) or (newest is not None and cached.step != newest):
            self._cache[key] = cached = Translator.load(project, direction=direction)
        return cached

    def _translate(self, r: _Request) -> None:
        from studio.engine.data.dataset import ImageDecodeError, decode_image

        name = Path(r.path).name
        try:
            from studio.engine.explore.translate import match_channels

            translator = self._translator(r.project, r.direction)
            picture = decode_image(r.path, translator.data_cfg, full_resolution=True)
            before = match_channels(picture, translator.channels, translator.data_cfg.background)
            after = translator.translate_array(before, should_cancel=lambda: self.latest() != r.rid)
            self._signals.done.emit(r.rid, TranslatedImage(r.path, r.direction, before, after, translator.step,
                                                           live=getattr(translator, "live", False)))
        except Cancelled:
            return  # a newer request took over
        except UserError as e:
            self._signals.failed.emit(r.rid, str(e))
        except ImageDecodeError as e:  # a bad file is the user's to fix: its reason, no traceback
            self._signals.failed.emit(r.rid, f"{name}: {e}")
        except Exception as e:  # noqa: BLE001 - a bad file is a message, never a crash
            traceback.print_exc()
            self._signals.failed.emit(r.rid, f"Could not translate {name}: {e.__class__.__name__}: {e}")


class TranslateController(SignalsOwner):
    """GUI-thread handle of the translation thread. Newest request wins. Views connect to
    `image_done`, `image_failed` and `busy_changed` (its TranslateSignals)."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.signals = TranslateSignals(self)
        self.signals.done.connect(self._on_done)
        self.signals.failed.connect(self._on_failed)
        self._runner = WorkerThread("gan-studio-translate", self)
        self._worker: TranslateWorker | None = None
        self._live: dict[str, object] = {}  # project -> GeneratorWeights, handed to each new worker
        self._next_id = 0
        self._pending = 0  # id of the request being waited for (0: none)

    @property
    def busy(self) -> bool:
        return self._pending != 0

    def translate(self, project: str | Path, direction: str, path: str | Path) -> int:
        """Queue a translation of the image file `path`; returns its request id. Older requests give way."""
        if not self._runner.running:  # the thread starts with the first request and lives until shutdown
            self._worker = TranslateWorker(self.signals)
            for root, weights in self._live.items():
                self._worker.set_live(root, weights)
            self._runner.start(self._worker)
        self._next_id += 1
        rid = self._next_id
        was_busy = self.busy
        self._pending = rid
        if not was_busy:
            self.signals.busy_changed.emit(True)
        self._worker.submit(_Request(rid, str(project), direction, str(path)))
        return rid

    def use_weights(self, project: str | Path, weights) -> None:
        """Translate `project` with a running training's generators (GeneratorWeights, a CPU copy)
        while they are newer than its newest checkpoint; None: back to the checkpoints."""
        root = str(project)
        if weights is None:
            self._live.pop(root, None)
        else:
            self._live[root] = weights
        if self._worker is not None:
            self._worker.set_live(root, weights)

    def live_weights(self, project: str | Path):
        """The running training's weights in use for `project`, or None."""
        return self._live.get(str(project))

    def release_models(self) -> None:
        if self._worker is not None:
            self._worker.release()

    def _on_done(self, rid: int, result: TranslatedImage) -> None:
        if rid != self._pending:
            return
        self._pending = 0
        self.signals.busy_changed.emit(False)
        self.signals.image_done.emit(result)

    def _on_failed(self, rid: int, message: str) -> None:
        if rid != self._pending:
            return
        self._pending = 0
        self.signals.busy_changed.emit(False)
        self.signals.image_failed.emit(message)

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stop the translation thread after its current tile; True when it has ended."""
        if self._worker is not None:
            self._worker.stop()
        ok = self._runner.join(timeout_s)
        if ok:
            self._worker = None
            if self._pending:
                self._pending = 0
                self.signals.busy_changed.emit(False)
        return ok


def translator_from_weights(weights, meta: dict, direction: str):
    """A Translator of a running training's generators (GeneratorWeights) for a project with `meta`
    (its project.json), marked `live`. Any thread."""
    from studio.engine.config import config_from_dict
    from studio.engine.data.dataset import DataConfig
    from studio.engine.explore.translate import Translator

    data_cfg = config_from_dict(DataConfig, meta.get("data", {}).get("config"))
    translator = Translator.from_state(weights.config, weights.state, data_cfg, direction=direction, device="auto",
                                       step=weights.step)
    translator.live = True
    return translator


def translate_folder_task(project: str | Path, direction: str, folder: str | Path, out_dir: str | Path,
                          weights=None):
    """A TaskRunner function translating every image under `folder` into `out_dir` (structure mirrored),
    with the newest checkpoint, or with `weights` (a running training's GeneratorWeights).

    Returns the engine's TranslateResult; cancelling stops between files (and between tiles)."""

    def run(progress, should_cancel):
        from studio.engine.explore.translate import Translator

        progress(0, 0, "Loading the model…")
        if weights is not None:
            from studio.engine.project.folder import Project

            translator = translator_from_weights(weights, Project.open(project, clean=False).meta, direction)
        else:
            translator = Translator.load(project, direction=direction)

        def on_progress(done: int, total: int) -> None:
            progress(done, total, f"Translated {done:,} of {total:,} images")

        return translator.translate_files([folder], out_dir, progress=on_progress, should_cancel=should_cancel)

    return run
