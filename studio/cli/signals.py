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
    """Context manager: while inside, `signums` (default STOP_SIGNALS) set `event` instead of ending the
    process.

    Nested uses share the outermost one's event and add their own signals, so a command can listen for
    SIGTERM and SIGHUP from the start of its (slow) start-up, where Ctrl-C still aborts at once (there is
    nothing to save yet), and the training loop then adds Ctrl-C. Main thread only: elsewhere Python
    cannot install handlers and the flag only ever reports what `event.set()` does."""

    _active: StopFlag | None = None

    def __init__(self, signums: tuple[int, ...] = STOP_SIGNALS) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self._signums = signums
        self._old: dict[int, object] = {}
        self._outer: StopFlag | None = None

    def __enter__(self) -> StopFlag:
        self._outer = StopFlag._active
        root = self._outer or self
        self.event = root.event
        StopFlag._active = root
        if threading.current_thread() is threading.main_thread():
            for signum in self._signums:
                if self._outer is None or signal.getsignal(signum) != root._handler:
                    self._old[signum] = signal.signal(signum, root._handler)
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
        text = f"\n{name}: stopping after this step and saving a checkpoint{hint}\n"
        # Straight to the file descriptor: print() here would re-enter sys.stderr's buffer when the signal
        # lands mid-write (a progress bar update), and its RuntimeError would surface at a random line
        # of the training loop. Any error here is swallowed for the same reason.
        try:
            os.write(sys.stderr.fileno(), text.encode("utf-8", "replace"))
        except (OSError, ValueError, AttributeError):
            pass

    def __exit__(self, *exc) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)
        self._old.clear()
        if self._outer is None:
            StopFlag._active = None


SESSION_END = tuple(s for s in STOP_SIGNALS if s != signal.SIGINT)  # what a command listens for from its start


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
