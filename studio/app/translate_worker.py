"""Trying a CycleGAN on the user's own images, off the GUI thread.

`TranslateController` (GUI thread) owns one long-lived `TranslateWorker` in a QThread with an
event loop. The worker keeps the generator of each direction warm between requests and reloads
it when the project has a newer checkpoint (so images dropped while training use the newest
model). The newest request wins: a request that is no longer the latest is skipped before it
starts, and an image being translated in tiles stops between tiles.

Folder translation is a one-shot job: `translate_folder_task()` returns a function for
`TaskRunner` (progress + cancel).
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from studio.engine.errors import Cancelled, UserError


@dataclass(frozen=True)
class TranslatedImage:
    """One translated picture and where it came from. Plain data."""

    path: str  # the source file
    direction: str  # "a2b" | "b2a"
    before: np.ndarray  # uint8 (H, W, C): the source as the model sees it (full resolution)
    after: np.ndarray  # uint8 (H, W, C): the translation, same H and W
    step: int  # training step of the model that translated it


class TranslateWorker(QObject):
    """Lives on the translation thread. `translate` runs there (queued); `latest` is thread-safe."""

    image_done = Signal(int, object)  # (request id, TranslatedImage)
    image_failed = Signal(int, str)  # (request id, one line for the user)

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self._latest = 0
        self._cache: dict[tuple[str, str], object] = {}  # (project, direction) -> Translator

    def set_latest(self, request_id: int) -> None:
        with self._lock:
            self._latest = request_id

    def latest(self) -> int:
        with self._lock:
            return self._latest

    def _translator(self, project: str, direction: str):
        from studio.engine.models.cyclegan.translate import Translator
        from studio.engine.project.checkpoints import list_checkpoints
        from studio.engine.project.folder import Project

        found = list_checkpoints(Project.open(project).checkpoints_dir)
        newest = found[-1][0] if found else None
        key = (project, direction)
        cached = self._cache.get(key)
        if cached is None or (newest is not None and cached.step != newest):
            self._cache[key] = cached = Translator.load(project, direction=direction)
        return cached

    @Slot(int, str, str, str)
    def translate(self, request_id: int, project: str, direction: str, path: str) -> None:
        """Translate one image file (translation thread)."""
        if request_id != self.latest():
            return  # a newer request is queued behind this one
        from studio.engine.data.dataset import ImageDecodeError, decode_image

        try:
            from studio.engine.models.cyclegan.translate import match_channels

            translator = self._translator(project, direction)
            picture = decode_image(path, translator.data_cfg, full_resolution=True)
            before = match_channels(picture, translator.channels, translator.data_cfg.background)
            after = translator.translate_array(before, should_cancel=lambda: self.latest() != request_id)
            self.image_done.emit(request_id, TranslatedImage(path, direction, before, after, translator.step))
        except Cancelled:
            return  # a newer request took over
        except UserError as e:
            self.image_failed.emit(request_id, str(e))
        except ImageDecodeError as e:  # a bad file is the user's to fix: its reason, no traceback
            self.image_failed.emit(request_id, f"{Path(path).name}: {e}")
        except Exception as e:  # noqa: BLE001 - a bad file is a message, never a crash
            traceback.print_exc()
            self.image_failed.emit(request_id, f"Could not translate {Path(path).name}: {e.__class__.__name__}: {e}")

    @Slot()
    def release(self) -> None:
        """Drop the cached generators (translation thread), e.g. when another project opens."""
        self._cache.clear()


class TranslateController(QObject):
    """GUI-thread handle of the translation thread. Newest request wins.

    Not on the app's WorkerThread runner (worker_thread.py), whose threads live for one `run()`: this
    thread lives as long as the window and idles in an event loop between images, because the
    worker keeps each direction's generator loaded (seconds to load, milliseconds to reuse) and
    requests reach it as queued slot calls."""

    image_done = Signal(object)  # TranslatedImage of the newest request
    image_failed = Signal(str)
    busy_changed = Signal(bool)
    _request = Signal(int, str, str, str)  # to the worker (queued)
    _release = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TranslateWorker | None = None
        self._next_id = 0
        self._pending = 0  # id of the request being waited for (0: none)

    @property
    def busy(self) -> bool:
        return self._pending != 0

    def _ensure_thread(self) -> TranslateWorker:
        if self._thread is None:
            thread = QThread()
            thread.setObjectName("gan-studio-translate")
            worker = TranslateWorker()
            worker.moveToThread(thread)
            self._request.connect(worker.translate)
            self._release.connect(worker.release)
            worker.image_done.connect(self._on_done)
            worker.image_failed.connect(self._on_failed)
            thread.finished.connect(worker.deleteLater)
            self._thread, self._worker = thread, worker
            thread.start()
        return self._worker

    def translate(self, project: str | Path, direction: str, path: str | Path) -> int:
        """Queue a translation of the image file `path`; returns its request id."""
        worker = self._ensure_thread()
        self._next_id += 1
        rid = self._next_id
        worker.set_latest(rid)  # older queued or running requests give way
        was_busy = self.busy
        self._pending = rid
        if not was_busy:
            self.busy_changed.emit(True)
        self._request.emit(rid, str(project), direction, str(path))
        return rid

    def release_models(self) -> None:
        if self._thread is not None:
            self._release.emit()

    def _on_done(self, rid: int, result: TranslatedImage) -> None:
        if rid != self._pending:
            return
        self._pending = 0
        self.busy_changed.emit(False)
        self.image_done.emit(result)

    def _on_failed(self, rid: int, message: str) -> None:
        if rid != self._pending:
            return
        self._pending = 0
        self.busy_changed.emit(False)
        self.image_failed.emit(message)

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Stop the translation thread after its current image; True when it has ended."""
        thread = self._thread
        if thread is None:
            return True
        if self._worker is not None:
            self._worker.set_latest(-1)  # whatever is running or queued is stale now
        thread.quit()
        ok = thread.wait(int(timeout_s * 1000))
        if ok:
            self._thread = None
            self._worker = None
            if self._pending:
                self._pending = 0
                self.busy_changed.emit(False)
            thread.deleteLater()
        return ok


def translate_folder_task(project: str | Path, direction: str, folder: str | Path, out_dir: str | Path):
    """A TaskRunner function translating every image under `folder` into `out_dir` (structure mirrored).

    Returns the engine's TranslateResult; cancelling stops between files (and between tiles)."""

    def run(progress, should_cancel):
        from studio.engine.models.cyclegan.translate import Translator

        progress(0, 0, "Loading the model…")
        translator = Translator.load(project, direction=direction)

        def on_progress(done: int, total: int) -> None:
            progress(done, total, f"Translated {done:,} of {total:,} images")

        return translator.translate_files([folder], out_dir, progress=on_progress, should_cancel=should_cancel)

    return run
