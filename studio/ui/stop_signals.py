"""The studio ends on a signal the way it ends when its window is closed: training stops after the current
step and is saved.

SIGTERM (logging out, shutting down, `kill`), SIGHUP (the terminal it was started from closed) and SIGINT
(Ctrl-C in that terminal) would otherwise end the process on the spot and lose every step since the last
checkpoint. Python runs a signal handler only between two of its own bytecodes, and Qt's event loop may
sit in C++ until the next mouse move, so a handler alone is not enough: the C-level handler also writes
the signal number to a socket (`signal.set_wakeup_fd`) that a QSocketNotifier watches, and its slot, on
the GUI thread, calls `on_stop`. GUI thread only.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable

from PySide6.QtCore import QObject, QSocketNotifier

from studio.cli.signals import STOP_SIGNALS, leave_terminal


class StopSignals(QObject):
    """While installed, STOP_SIGNALS call `on_stop(signum)` once, on the GUI thread, from the event loop."""

    def __init__(self, on_stop: Callable[[int], None], parent: QObject | None = None):
        super().__init__(parent)
        self._on_stop = on_stop
        self._fired = False
        self._old: dict[int, object] = {}
        self._old_wakeup_fd = -1
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        self._notifier: QSocketNotifier | None = None

    def install(self) -> StopSignals:
        read, write = socket.socketpair()
        read.setblocking(False)
        write.setblocking(False)
        self._sockets = (read, write)
        self._old_wakeup_fd = signal.set_wakeup_fd(write.fileno(), warn_on_full_buffer=False)
        for signum in STOP_SIGNALS:
            # Only a Python-level handler makes the interpreter write to the wakeup socket; the
            # work is done in _wake, on the event loop.
            self._old[signum] = signal.signal(signum, _ignore)
        self._notifier = QSocketNotifier(read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._wake)
        return self

    def uninstall(self) -> None:
        if self._sockets is None:
            return
        for signum, old in self._old.items():
            signal.signal(signum, old)
        self._old.clear()
        signal.set_wakeup_fd(self._old_wakeup_fd)
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        for s in self._sockets:
            s.close()
        self._sockets = None

    def _wake(self, *_args) -> None:
        try:
            received = self._sockets[0].recv(64) if self._sockets is not None else b""
        except (BlockingIOError, OSError):
            return
        stops = [signum for signum in received if signum in STOP_SIGNALS]
        if hasattr(signal, "SIGHUP") and signal.SIGHUP in stops:
            leave_terminal()  # what is printed while saving must not fail on the closed terminal
        if stops and not self._fired:
            self._fired = True  # the close path runs once; further signals wait for it
            self._on_stop(stops[0])


def _ignore(signum, frame) -> None:
    pass
