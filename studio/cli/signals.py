"""Stopping training on a signal without losing it: Ctrl-C, `kill` and the end of a session all save.

SIGINT (Ctrl-C), SIGTERM (`kill`, a logout, systemd, a batch scheduler) and SIGHUP (the terminal closed)
ask the training loop to stop after the current step; the loop then writes a checkpoint and the process
exits 0. A second Ctrl-C aborts at once. A second SIGTERM or SIGHUP does not: it is what a session
manager sends again while the save is still being written, and the save is the point.

After SIGHUP the terminal is gone and writing to it fails (EIO), which would turn the final save into
an error; from then on output meant for a terminal goes to /dev/null instead.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_NAMES = {signal.SIGINT: "Ctrl-C"}


class StopFlag:
    """Context manager: while inside, STOP_SIGNALS set `event` instead of ending the process.

    Nested uses share the outer one's event, so a command can start listening before its slow start-up
    (a signal then stops it before its first step) and the training loop join in. Main thread only:
    elsewhere Python cannot install handlers and the flag only ever reports what `event.set()` does."""

    _active: StopFlag | None = None

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self._old: dict[int, object] = {}
        self._outer: StopFlag | None = None

    def __enter__(self) -> StopFlag:
        self._outer = StopFlag._active
        if self._outer is not None:
            self.event = self._outer.event
            return self
        StopFlag._active = self
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._old[signum] = signal.signal(signum, self._handler)
        return self

    def _handler(self, signum, frame) -> None:
        again = self.event.is_set()
        self.signum = signum
        self.event.set()
        if hasattr(signal, "SIGHUP") and signum == signal.SIGHUP:
            leave_terminal()
        if again:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return
        name = _NAMES.get(signum) or signal.Signals(signum).name
        hint = " (Ctrl-C again to abort)" if signum == signal.SIGINT else ""
        try:
            print(f"\n{name}: stopping after this step and saving a checkpoint{hint}", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass  # a handler that raised would surface at a random line of the training loop

    def __exit__(self, *exc) -> None:
        if self._outer is not None:
            return
        for signum, old in self._old.items():
            signal.signal(signum, old)
        self._old.clear()
        StopFlag._active = None


def leave_terminal() -> None:
    """Point stdout and stderr at /dev/null where they were a terminal (now hung up). Asked by file
    type: isatty() already fails on a terminal that hung up. Files and pipes keep their output."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        for fd in (1, 2):
            try:
                if stat.S_ISCHR(os.fstat(fd).st_mode):
                    os.dup2(null, fd)
            except OSError:
                pass
    finally:
        os.close(null)
