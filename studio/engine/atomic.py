"""Crash-safe file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

TEMP_PREFIX = ".tmp-"
# Temp names are ".tmp-<pid>-<8 random>" whatever the target is called: a name built from the target
# (250+ characters allowed) would pass the 255-byte limit, and the pid tells a later run whether
# the writer is still alive (remove_stale_temp_files(..., dead_writers_only=True)).
_OURS = re.compile(r"^\.tmp-(\d+)-")
# mkstemp creates 0600 files; project files should get the user's normal permissions.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _fsync_dir(folder: Path) -> None:
    # The rename itself lives in the directory entry; without this a power cut can undo it.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder, fsync, then rename.

    Any thread may call it. Raises OSError (disk full, read-only folder) with the
    temp file removed and the previous file at `path` untouched.
    """
    path = Path(path)
    fd, tmp = make_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def make_temp(path: Path | str, suffix: str = "") -> tuple[int, str]:
    """Create a short-named temp file next to `path` with the user's usual permissions (mkstemp makes
    0600 files); returns (open fd, its path). The caller renames it over `path` or deletes it."""
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=suffix, dir=Path(path).parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
    except OSError:
        pass  # some network and FAT volumes have no permissions to set
    return fd, tmp


def write_text_atomic(path: Path | str, text: str) -> None:
    """Text flavour of write_bytes_atomic (UTF-8)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's process, or cannot tell: leave its file alone
    return True


def remove_stale_temp_files(folder: Path | str, dead_writers_only: bool = False) -> list[Path]:
    """Delete temp files left by a process killed mid-write; returns what was removed.

    In a project folder every temp file is stale once the project is opened for writing. In any
    other folder (an export's destination), `dead_writers_only` removes only this program's temp
    files whose writing process has ended, so a second export running into the same folder keeps
    its file."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.glob(TEMP_PREFIX + "*"):
        if dead_writers_only:
            m = _OURS.match(p.name)
            if m is None or _alive(int(m.group(1))) or not p.is_file():
                continue
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed
