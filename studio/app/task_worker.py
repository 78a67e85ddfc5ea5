"""One-shot background jobs with progress and cancel (preparing images, translating a folder).

`TaskRunner` (GUI thread) runs a plain function on a fresh QThread through a `TaskWorker`. The
function receives `progress(done, total, text)` and `should_cancel()` callbacks, both safe to call
from the worker thread; it returns a plain-data result or raises. Results, errors and progress
come back as queued signals; the function must never touch a widget.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from studio.app.worker_thread import SignalsOwner, WorkerThread
from studio.engine.errors import Cancelled, UserError

# fn(progress(done, total, text), should_cancel()) -> result
TaskFn = Callable[[Callable[[int, int, str], None], Callable[[], bool]], object]

PROGRESS_INTERVAL_S = 0.05


class TaskSignals(QObject):
    """What a task tells the GUI. Owned by the TaskRunner; its worker emits through it."""

    progress = Signal(int, int, str)  # (done, total, what is happening)
    finished = Signal(object)  # the function's result
    failed = Signal(str)  # one line for the user
    cancelled = Signal()
    busy_changed = Signal(bool)  # a task started (True) / its thread has ended (False)


class TaskWorker:
    """Runs one task function on the runner's thread. `cancel()` may be called from any thread."""

    def __init__(self, fn: TaskFn, signals: TaskSignals):
        self._fn = fn
        self._signals = signals
        self._cancel = threading.Event()
        self._last_emit = 0.0

    def cancel(self) -> None:
        """Ask the task to stop at its next check. Any thread."""
        self._cancel.set()

    def _progress(self, done: int, total: int, text: str = "") -> None:
        now = time.perf_counter()
        # throttled, but the last update always goes out so bars end full
        if done >= total or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            self._signals.progress.emit(int(done), int(total), text)

    def run(self) -> None:
        """Worker thread only. Emits exactly one of finished / failed / cancelled."""
        signals = self._signals
        try:
            result = self._fn(self._progress, self._cancel.is_set)
        except Cancelled:
            signals.cancelled.emit()
        except UserError as e:
            signals.failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - errors come back as a message, never a crash
            traceback.print_exc()
            signals.failed.emit(f"{e.__class__.__name__}: {e}")
        else:
            if self._cancel.is_set():
                signals.cancelled.emit()
            else:
                signals.finished.emit(result)


class TaskRunner(SignalsOwner):
    """Runs at most one task at a time on its own QThread. GUI thread only.

    Its signals (`progress`, `finished`, `failed`, `cancelled`, `busy_changed`) live in one
    TaskSignals object for the runner's whole life, so views connect once, not to each task."""

    def __init__(self, name: str = "task", parent: QObject | None = None):
        super().__init__(parent)
        self.signals = TaskSignals(self)
        self._runner = WorkerThread(f"gan-studio-{name}", self)
        self._runner.ended.connect(lambda: self.signals.busy_changed.emit(False))

    @property
    def busy(self) -> bool:
        return self._runner.running

    def start(self, fn: TaskFn) -> None:
        """Run `fn` on a new thread; cancels and joins any task still running first."""
        if self._runner.running:
            self.cancel_and_join()
        self._runner.start(TaskWorker(fn, self.signals))
        self.signals.busy_changed.emit(True)

    def cancel(self) -> None:
        """Ask the running task to stop; `cancelled` follows. Returns at once."""
        if self._runner.worker is not None:
            self._runner.worker.cancel()

    def join(self, timeout_s: float = 30.0) -> bool:
        return self._runner.join(timeout_s)

    def cancel_and_join(self, timeout_s: float = 30.0) -> bool:
        self.cancel()
        return self.join(timeout_s)
