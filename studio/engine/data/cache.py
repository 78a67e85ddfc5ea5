"""On-disk cache of decoded datasets, so a folder is decoded once per setting.

One ``.npz`` file per (folder, settings): ``<folder-id>-<content-key>.npz``.
Writing a new state of a folder deletes the older states of the same folder
and settings, so the cache does not grow with every edit of the folder.
Files are written atomically (temp file + fsync + os.replace) and read with
``allow_pickle=False``; an unreadable or inconsistent file is treated as a miss.

The whole cache stays under a size limit (:func:`size_limit`, 4 GiB unless
``$GAN_STUDIO_CACHE_LIMIT_GB`` says otherwise): after each write the least
recently used files go first, never the file just written. Using a file
refreshes its modification time, which is what "recently used" reads (access
times are often not kept).

Any thread; two processes preparing the same folder at once both decode and
the last rename wins, which is harmless.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # bump when the file layout or the decoded pixels change
_WRITE_CHUNK = 4 * 1024 * 1024


def default_cache_dir() -> Path:
    """$GAN_STUDIO_CACHE, else $XDG_CACHE_HOME/gan-studio/datasets, else ~/.cache/gan-studio/datasets."""
    explicit = os.environ.get("GAN_STUDIO_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "gan-studio" / "datasets"


DEFAULT_LIMIT_BYTES = 4 * 2**30  # a 256 px dataset of 10,000 images is 1.8 GiB


def size_limit() -> int:
    """Bytes the cache may hold: $GAN_STUDIO_CACHE_LIMIT_GB (GiB, may be fractional) or 4 GiB."""
    raw = os.environ.get("GAN_STUDIO_CACHE_LIMIT_GB", "").strip()
    try:
        return max(0, int(float(raw) * 2**30)) if raw else DEFAULT_LIMIT_BYTES
    except ValueError:
        log.warning("ignoring GAN_STUDIO_CACHE_LIMIT_GB=%r: not a number", raw)
        return DEFAULT_LIMIT_BYTES


def cache_path(cache_dir: Path, folder_id: str, key: str) -> Path:
    return Path(cache_dir) / f"{folder_id[:16]}-{key[:32]}.npz"


def load(path: Path, *, key: str, shape: tuple[int, int, int]) -> tuple[np.ndarray, list[str], dict] | None:
    """Return ``(images, paths, report_dict)`` stored under ``key``, or None on any miss.

    ``shape`` is the expected (C, H, W) of one image; images come back as a
    writable, C-contiguous uint8 array of shape (N, C, H, W).
    """
    try:
        if not path.is_file():
            return None
        # Our own handle: np.load leaks its file when the zip is damaged.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"][()]))
            if meta.get("version") != FORMAT_VERSION or meta.get("key") != key:
                return None
            images = z["images"]
            paths = [str(p) for p in z["paths"]]
    except Exception as e:  # noqa: BLE001 - a corrupt cache is rebuilt, never fatal
        log.info("ignoring unreadable dataset cache %s: %s", path, e)
        return None
    if (
        images.dtype != np.uint8
        or images.ndim != 4
        or tuple(images.shape[1:]) != tuple(shape)
        or images.shape[0] != len(paths)
        or not isinstance(meta.get("report"), dict)
    ):
        log.info("ignoring inconsistent dataset cache %s", path)
        return None
    try:
        os.utime(path)  # recently used: the last to be evicted
    except OSError:
        pass
    return np.ascontiguousarray(images), paths, meta["report"]


def save(path: Path, *, key: str, images: np.ndarray, paths: list[str], report: dict[str, Any]) -> None:
    """Atomically write the cache file and drop older states of the same folder+settings.

    Failures (read-only disk, disk full) are logged and swallowed: the cache
    only saves time.
    """
    path = Path(path)
    tmp_name = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            meta = json.dumps({"version": FORMAT_VERSION, "key": key, "report": report})
            _write_npz(f, images=images, paths=np.array(paths, dtype=str), meta=np.array(meta))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as e:
        log.warning("could not write dataset cache %s: %s", path, e)
        return
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
    folder_id = path.stem.split("-", 1)[0]
    for old in path.parent.glob(f"{folder_id}-*.npz"):
        if old != path:
            try:
                old.unlink(missing_ok=True)
            except OSError:
                pass
    trim(path.parent, size_limit(), keep=path)


def trim(cache_dir: Path, limit: int, keep: Path | None = None) -> list[Path]:
    """Delete the least recently used cache files until the rest fit in `limit` bytes; `keep` is
    never deleted. Returns what was deleted. Only this cache's own ``*.npz`` files are touched."""
    entries = []
    for f in Path(cache_dir).glob("*.npz"):
        try:
            st = f.stat()
        except OSError:
            continue  # deleted meanwhile by another process
        entries.append((st.st_mtime, st.st_size, f))
    total = sum(size for _, size, _ in entries)
    removed = []
    for _, size, f in sorted(entries):  # oldest first
        if total <= limit:
            break
        if keep is not None and f == Path(keep):
            continue
        try:
            f.unlink(missing_ok=True)
        except OSError:
            continue
        total -= size
        removed.append(f)
    if removed:
        log.info("dataset cache over %.1f GiB: removed %d least recently used file(s)", limit / 2**30, len(removed))
    return removed


def _write_npz(f, **arrays: np.ndarray) -> None:
    """Like ``np.savez`` (same file format), without its 16 MB temporary copies.

    np.savez copies data in 16 MB chunks when writing into a zip member; for a
    dataset at the edge of memory that is a real spike. Here the array bytes
    go to the zip straight from the array's memory.
    """
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            if not array.flags.c_contiguous:
                array = array.copy(order="C")
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                if array.dtype.kind in "biuf":
                    np.lib.format.write_array_header_1_0(member, np.lib.format.header_data_from_array_1_0(array))
                    raw = memoryview(array).cast("B")
                    for start in range(0, len(raw), _WRITE_CHUNK):
                        member.write(raw[start : start + _WRITE_CHUNK])
                else:
                    np.lib.format.write_array(member, array, allow_pickle=False)
