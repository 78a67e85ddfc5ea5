"""The training lock of a project folder: one trainer at a time.

Two trainers on one project (two `resume`s, or the studio and the command line) would interleave their
checkpoints and history. Whoever trains holds an exclusive `fcntl.flock` on `training.lock` in the project
folder. The kernel drops it when the holding process ends, however it ends (SIGKILL, a crash, a power cut
of the session), so a stale lock cannot outlive its trainer and nothing ever has to be deleted by hand. The
file itself only tells a refused trainer who holds it (PID and what it runs); its presence means nothing.

Readers (generate, export, the explorer, the studio showing a project) never take it. Several handles
in one process share one hold: the studio may reopen the project it is training on its worker thread
while an older session object is still being torn down. A multi-process (DDP) run is one trainer: only
its main rank takes the lock.

POSIX only (`fcntl`); where it is missing (Windows) training goes unlocked, as before.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.engine.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_FILE = "training.lock"
# A trainer that finds the lock taken tries again for this long before it refuses: a reader may hold it
# for a few milliseconds while it removes temp files (see `while_unlocked`).
WAIT_S = 2.0
_POLL_S = 0.05


class ProjectLocked(UserError):
    """Another process is training this project."""


@dataclass
class _Hold:
    fd: int
    pid: int  # the process that took it: a fork()ed child inherits the dict, not the lock
    threads: dict[int, int]  # thread ident -> shares it took: the trainer's own thread(s)

    @property
    def count(self) -> int:
        return sum(self.threads.values())


_held: dict[str, _Hold] = {}
_guard = threading.Lock()
_process = "training"  # what this process is, for a refused trainer's message (describe_process)


def describe_process(label: str) -> None:
    """Name this process in the lock file ("gan-studio resume", "GAN Studio"), so that a trainer it
    refuses can say who trains the project."""
    global _process
    _process = label


class TrainingLock:
    """This process's share of a project's training lock; `release()` (or the with-block) gives it back."""

    def __init__(self, key: str | None):
        self._key = key
        self._thread = threading.get_ident()

    @property
    def held(self) -> bool:
        return self._key is not None

    def release(self) -> None:
        key, self._key = self._key, None
        if key is None:
            return
        with _guard:
            hold = _held.get(key)
            if hold is None or hold.pid != os.getpid():
                return
            left = hold.threads.pop(self._thread, 0) - 1
            if left > 0:
                hold.threads[self._thread] = left
            if hold.count == 0:
                del _held[key]
                os.close(hold.fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> TrainingLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def acquire(root: Path | str, wait_s: float | None = None) -> TrainingLock:
    """Take the training lock of the project at `root`, or raise ProjectLocked naming the holder's PID
    (trying again for `wait_s`, default WAIT_S, first). A folder that cannot hold the lock file
    (read-only) is not locked: training there fails at its first write with its own clear message.
    Any thread."""
    if fcntl is None:
        return TrainingLock(None)
    key = _key(root)
    with _guard:
        hold = _held.get(key)
        if hold is not None and hold.pid == os.getpid():
            me = threading.get_ident()
            hold.threads[me] = hold.threads.get(me, 0) + 1
            return TrainingLock(key)
        _held.pop(key, None)  # a fork()ed child's copy of its parent's hold
    path = Path(key) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        return TrainingLock(None)
    if not _try_lock(fd, WAIT_S if wait_s is None else wait_s):
        holder = _live_holder(fd)
        os.close(fd)
        who = f"PID {holder[0]}" + (f", {holder[1]}" if holder[1] else "") if holder else "another process"
        raise ProjectLocked(
            f"{root} is being trained by another process ({who}); wait for it to finish or stop it, "
            "then try again."
        )
    try:
        # New note first, then cut the old one's tail: a reader never finds the file empty.
        note = f"{os.getpid()} {_process}\n".encode()
        os.pwrite(fd, note, 0)
        os.ftruncate(fd, len(note))
    except OSError:
        pass  # the lock holds without its note; a refused trainer then names no PID
    with _guard:
        _held[key] = _Hold(fd, os.getpid(), {threading.get_ident(): 1})
    return TrainingLock(key)


def holder(root: Path | str) -> tuple[int, str] | None:
    """(PID, what) of the process training the project at `root`, or None when nobody is."""
    if fcntl is None:
        return None
    key = _key(root)
    with _guard:
        hold = _held.get(key)
        if hold is not None and hold.pid == os.getpid():
            return _holder(hold.fd)
    try:
        fd = os.open(Path(key) / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if _try_lock(fd, 0.0):
            return None
        return _holder(fd)
    finally:
        os.close(fd)


def while_unlocked(root: Path | str, action: Callable[[], object]) -> bool:
    """Run `action` only while nobody else trains the project: for clean-ups such as removing temp
    files, which would break a live trainer's writes. The thread that holds the lock (a trainer
    opening its project) may; other threads of its process (the studio's window while its worker
    trains) and other processes may not while it is held. True when it ran."""
    if fcntl is None:
        action()
        return True
    key = _key(root)
    with _guard:
        hold = _held.get(key)
        held_here = hold is not None and hold.pid == os.getpid()
        mine = held_here and threading.get_ident() in hold.threads
    if mine:
        action()
        return True
    if held_here:
        return False
    try:
        fd = os.open(Path(key) / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        fd = None  # never trained with a lock: nobody can be training it now but an older version
    except OSError:
        return False
    try:
        if fd is not None and not _try_lock(fd, 0.0):
            return False
        action()
        return True
    finally:
        if fd is not None:
            os.close(fd)


def _key(root: Path | str) -> str:
    return os.path.realpath(os.path.expanduser(os.fspath(root)))


def _try_lock(fd: int, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)


def _holder(fd: int) -> tuple[int, str] | None:
    try:
        line = os.pread(fd, 200, 0).decode("utf-8", "replace").split("\n", 1)[0]
        pid, _, what = line.strip().partition(" ")
        return int(pid), what.strip()
    except (OSError, ValueError):
        return None


def _live_holder(fd: int, wait_s: float = 0.5) -> tuple[int, str] | None:
    """The note of a holder that is alive. A trainer that has just taken the lock may not have written
    its note yet: until it has, the file still names the previous (ended) holder."""
    deadline = time.monotonic() + wait_s
    while True:
        holder = _holder(fd)
        if holder is not None and _alive(holder[0]):
            return holder
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


def _alive(pid: int) -> bool:
    if pid <= 0:  # 0 and -1 would ask about whole process groups
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except (OverflowError, ValueError):
        return False
    return True
