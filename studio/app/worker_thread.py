"""One worker object running on its own QThread, started, joined and torn down from the GUI thread.

The training controller and the task runner both own one; this is the part they share. The
worker's `run` slot starts when the thread does, and the thread quits when one of the worker's
end signals fires."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThread, Signal


class WorkerThread(QObject):
    """At most one thread at a time. GUI thread only."""

    ended = Signal()  # the thread has really ended and was torn down

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self._name = name
        self._thread: QThread | None = None
        self.worker: QObject | None = None
        # The ended run's worker is kept until the next start: its queued signals may still be on their way.
        self._last_worker: QObject | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, worker: QObject, end_signals) -> None:
        """Move `worker` to a new thread and run its `run` slot there. RuntimeError while one runs."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} is already running")
        thread = QThread()
        thread.setObjectName(self._name)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        # Direct: quit() is thread-safe, and a GUI thread blocked in join() could not deliver a queued call.
        for signal in end_signals:
            signal.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self.worker = thread, worker
        thread.start()

    def join(self, timeout_s: float) -> bool:
        """Block until the thread has ended; True if it did within `timeout_s`. Queued signals of the
        ended run are still delivered afterwards by the event loop."""
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
        self._last_worker, self.worker = self.worker, None
        thread.deleteLater()
        self.ended.emit()
