"""The one way the app layer runs work in the background: a plain worker on its own QThread.

Every background job of the studio (training, rendering for the explorer, translating dropped
images, one-shot tasks) has the same three parts, the shape of superqt's workers:

* a *signals object*: a `QObject` subclass that only declares signals. Its controller creates it
  on the GUI thread and keeps it for the controller's whole life, so views connect once;
* a *worker*: a plain Python object (not a QObject) whose `run()` does the work on the background
  thread and reports through the signals object. Qt queues each emission onto the GUI thread,
  because the signals object lives there, so the worker never touches a widget;
* a *controller* (GUI thread) that owns both and a `WorkerThread` that runs one worker at a time.

A worker thread has no event loop, so requests and control (pause, stop, cancel, a new picture
to render) go through thread-safe methods of the worker, never through queued slots. The thread
ends when `run()` returns: a one-shot task when it is done, a long-lived worker (render,
translate) when its controller stops it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, SignalInstance


class _RunThread(QThread):
    """A QThread whose body is one function (no event loop: the function is the thread's life)."""

    def __init__(self, body: Callable[[], None]):
        super().__init__()
        self._body = body

    def run(self) -> None:
        self._body()


class WorkerThread(QObject):
    """Runs at most one worker at a time on a fresh thread. GUI thread only."""

    ended = Signal()  # the thread has really ended and was torn down

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self._name = name
        self._thread: QThread | None = None
        self.worker = None  # the running worker (None when idle)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, worker) -> None:
        """Call `worker.run()` on a new thread. RuntimeError while one runs."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        thread = _RunThread(worker.run)
        thread.setObjectName(self._name)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self.worker = thread, worker
        thread.start()

    def join(self, timeout_s: float) -> bool:
        """Block until the thread has ended; True if it did within `timeout_s`. Signals the worker
        emitted are still delivered afterwards by the event loop."""
        thread = self._thread
        if thread is None:
            return True
        ok = thread.wait(int(timeout_s * 1000))
        if ok:
            self._on_thread_finished()
        return ok

    def _on_thread_finished(self) -> None:
        thread = self._thread
        # A queued `finished` of an earlier thread may arrive after join() and a new start(): only the
        # current thread is torn down (sender() is None when join() calls this directly).
        sender = self.sender()
        if thread is None or (sender is not None and sender is not thread):
            return
        thread.wait()  # `finished` is emitted just before the thread really ends
        self._thread = None
        self.worker = None
        thread.deleteLater()
        self.ended.emit()


class SignalsOwner(QObject):
    """Base of a controller: `self.signals` is its worker's signals object, and the controller's own
    attributes fall back to it, so views write `controller.finished.connect(...)` (superqt's shape)."""

    def __getattr__(self, name: str):
        signals = self.__dict__.get("signals")
        attr = getattr(signals, name, None) if signals is not None else None
        if isinstance(attr, SignalInstance):
            return attr
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
