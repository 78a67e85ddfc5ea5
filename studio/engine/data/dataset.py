"""Image folders -> in-memory uint8 training tensors, decoded once and cached.

The trainers see an :class:`ImageDataset`: every usable image of a folder
(recursively), fitted to a square ``DataConfig.size``, as one uint8 tensor of
shape (N, C, size, size). Bad files never stop preparation: they are listed in
the :class:`DatasetReport` with a reason. Decoding details (EXIF rotation,
transparency, 16-bit, bombs, ...) live in :mod:`studio.engine.data.decode`;
the on-disk cache in :mod:`studio.engine.data.cache`.

Dataset policies:

* Hidden files and folders (name starting with ".") and ``__MACOSX`` folders
  are not scanned: they hold macOS "._name.jpg" resource files, not images.
* Folder symlinks are followed; a folder reached twice (a link loop, or two
  links to one folder) is scanned once and the extra path is reported.
* Images whose long side is more than :data:`MAX_ASPECT_RATIO` times the short
  side are skipped with a reason: a centre crop keeps a sliver, a letterbox a
  line. Tiny images are used (enlarged) and listed under ``small``.
* Byte-identical files are all used and reported as duplicates.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import statistics
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import PIL
import torch

from studio.engine.allocator import release_freed_memory
from studio.engine.data import cache as dataset_cache
from studio.engine.data import decode as image_decode
from studio.engine.data import video as video_clip
from studio.engine.data.decode import IMAGE_EXTENSIONS, ImageDecodeError, Source
from studio.engine.data.labels import class_counts
from studio.engine.data.report import DatasetReport
from studio.engine.errors import Cancelled, UserError

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_ASPECT_RATIO",
    "Cancelled",
    "DataConfig",
    "DatasetReport",
    "ImageDataset",
    "ImageDecodeError",
    "dataset_fingerprint",
    "decode_image",
    "default_cache_dir",
    "prepare_dataset",
    "scan_folder",
]


# Long side / short side above which an image is skipped when building a dataset.
MAX_ASPECT_RATIO = 20.0

# Decoder threads: Pillow releases the GIL, and two keep a 2-core laptop usable.
DECODE_THREADS = 2

_SKIPPED_DIR_NAMES = frozenset({"__MACOSX"})
# A folder holding this file is a project folder (project/folder.py's PROJECT_FILE; data may not
# import project): never scanned, so a project made inside its image folder cannot train on its
# own sample grids.
_PROJECT_FILE = "project.json"
_MIN_SIZE, _MAX_SIZE = 4, 4096

# Reasons that may go away without the file changing (permissions, flaky
# drives): a dataset with such skips is not cached, so a retry re-reads them.
_TRANSIENT_REASONS = ("permission denied", "read error", "cannot read file")

default_cache_dir = dataset_cache.default_cache_dir


@dataclass(frozen=True)
class DataConfig:
    """How images become training tensors. Stored in project.json via ``asdict``."""

    size: int = 64  # training resolution (square), pixels
    fit: str = "crop"  # "crop" = centre square of the image, "pad" = whole image letterboxed
    alpha: str = "white"  # transparency: "white" / "black" background, or "keep" as a 4th channel
    grayscale: bool = False  # one-channel (greyscale) dataset

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise UserError(f"Image size must be a whole number of pixels, not {self.size!r}.")
        if not _MIN_SIZE <= self.size <= _MAX_SIZE:
            raise UserError(f"Image size must be between {_MIN_SIZE} and {_MAX_SIZE} pixels, not {self.size}.")
        if self.fit not in ("crop", "pad"):
            raise UserError(f"Fit must be 'crop' or 'pad', not {self.fit!r}.")
        if self.alpha not in ("white", "black", "keep"):
            raise UserError(f"Transparency must be 'white', 'black' or 'keep', not {self.alpha!r}.")
        if self.grayscale and self.alpha == "keep":
            raise UserError(
                "Greyscale images with kept transparency are not supported: "
                "choose a white or black background for greyscale."
            )

    @property
    def channels(self) -> int:
        """1 (greyscale), 3 (colour) or 4 (colour + kept transparency)."""
        return 1 if self.grayscale else 4 if self.alpha == "keep" else 3

    @property
    def pil_mode(self) -> str:
        """The Pillow mode of decoded images: "L", "RGB" or "RGBA"."""
        return {1: "L", 3: "RGB", 4: "RGBA"}[self.channels]

    @property
    def background(self) -> int:
        """Grey level transparency and letterbox bars become (255 white, 0 black)."""
        return 0 if self.alpha == "black" else 255


@dataclass
class ImageDataset:
    """A prepared folder, resident in memory. Read-only after creation; any thread."""

    images: torch.Tensor  # uint8 (N, C, size, size), contiguous
    paths: list[str]  # source file of each row
    report: DatasetReport  # what was used, skipped, duplicated, small
    fingerprint: str  # dataset_fingerprint() of the folder when it was prepared
    config: DataConfig  # settings the images were decoded with

    def __post_init__(self) -> None:
        # Computed from the rows' paths rather than stored by the decoder, so a report read back from
        # a cache written before classes were reported shows them too. A video clip has no sub-folders.
        if self.report is not None and not self.report.frames:
            self.report.classes = class_counts(self.paths, self.report.folder)

    def __len__(self) -> int:
        return len(self.paths)


def decode_image(
    source: Source,
    cfg: DataConfig | None = None,
    *,
    size: int | None = None,
    full_resolution: bool = False,
) -> np.ndarray:
    """Decode one image file (path, bytes or binary file) to uint8 HxWxC, C = ``cfg.channels``.

    The output is ``size`` x ``size`` (fitted by ``cfg.fit``) when ``size`` is
    given, else ``cfg.size`` x ``cfg.size`` when ``cfg`` is given; with no
    ``cfg`` and no ``size``, or with ``full_resolution=True``, the image keeps
    its own (EXIF-upright) size. Raises ImageDecodeError with a short reason.
    Any thread.
    """
    cfg_given = cfg is not None
    cfg = cfg or DataConfig()
    if full_resolution:
        target = None
    else:
        target = size if size is not None else (cfg.size if cfg_given else None)
    pixels, _ = image_decode.decode(
        source, mode=cfg.pil_mode, background=cfg.background, size=target, fit=cfg.fit
    )
    return pixels


def scan_folder(folder: str | os.PathLike) -> list[Path]:
    """All image files under ``folder`` (recursive), sorted by relative path.

    Files are chosen by extension only (:data:`IMAGE_EXTENSIONS`, any case);
    other files are ignored. Unreadable subfolders and link loops are skipped.
    Raises UserError if ``folder`` is missing or not a folder. Any thread.

    A video clip gives the names of the frames it will contribute (see
    :func:`studio.engine.data.video.frame_list`: they count and size it for suggestions).
    """
    if video_clip.is_file(folder):
        return video_clip.frame_list(folder)
    return _scan(_checked_folder(folder)).files


def dataset_fingerprint(folder: str | os.PathLike) -> str:
    """Hex digest of the folder's image list with sizes and modification times.

    Cheap (no file is opened); changes when images are added, removed,
    renamed or replaced, not when the folder is moved. Raises UserError if
    ``folder`` is missing or not a folder. Any thread.
    """
    if video_clip.is_file(folder):
        return video_clip.fingerprint(folder)
    return _fingerprint(_scan(_checked_folder(folder)))


def prepare_dataset(
    folder: str | os.PathLike,
    cfg: DataConfig,
    *,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ImageDataset:
    """Decode every usable image of ``folder`` into an :class:`ImageDataset`.

    ``folder`` may also be a video clip: its frames are the images (:mod:`studio.engine.data.video`).

    A folder whose files (names, sizes, modification times) and settings are
    unchanged is loaded from the cache in ``cache_dir`` (default
    :func:`default_cache_dir`) without decoding anything.

    Blocks for as long as decoding takes: call it from a worker thread, not
    the GUI thread. ``progress(done, total)`` and ``should_cancel()`` are
    called on the calling thread, between images. Raises UserError (missing
    folder, no usable image) or Cancelled.
    """
    if video_clip.is_file(folder):  # a video clip stands for a folder of its frames
        images, paths, report, fingerprint = video_clip.prepare_frames(
            folder, cfg, cache_dir=cache_dir, progress=progress, should_cancel=should_cancel)
        release_freed_memory()
        return ImageDataset(torch.from_numpy(images), paths, report, fingerprint, cfg)
    root = _checked_folder(folder)
    scan = _scan(root, should_cancel)
    if not scan.files:
        raise UserError(_no_images_message(scan))

    fingerprint = _fingerprint(scan)
    settings = {
        "config": asdict(cfg),
        "max_pixels": image_decode.MAX_PIXELS,
        "max_aspect": MAX_ASPECT_RATIO,
        "pillow": PIL.__version__,
        "colour": "ICC-tagged RGB converted to sRGB",  # decoded pixels differ from earlier versions
        "damaged": "files too short for their size skipped",  # caches that kept them are not reused
    }
    # One cache file per folder_id: a new state of the folder (or a Pillow
    # upgrade) replaces the old file instead of piling up next to it.
    folder_id = _sha256([str(root), asdict(cfg)])
    key = _sha256([dataset_cache.FORMAT_VERSION, str(root), fingerprint, settings])
    cache_file = dataset_cache.cache_path(Path(cache_dir) if cache_dir else default_cache_dir(), folder_id, key)
    shape = (cfg.channels, cfg.size, cfg.size)

    cached = dataset_cache.load(cache_file, key=key, shape=shape)
    if cached is not None:
        images, paths, report_dict = cached
        try:
            report = DatasetReport.from_dict(report_dict)
        except (KeyError, TypeError, ValueError):
            report = None  # a damaged cache file: decode again
        if report is not None:
            if progress is not None:
                progress(len(scan.files), len(scan.files))
            release_freed_memory()  # the cache file's read buffers
            return ImageDataset(torch.from_numpy(images), paths, report, fingerprint, cfg)

    images, paths, report = _decode_all(scan, cfg, progress, should_cancel)
    if not paths:
        raise UserError(_all_skipped_message(scan, report))
    if not any(r.startswith(_TRANSIENT_REASONS) for _, r in report.skipped):
        dataset_cache.save(cache_file, key=key, images=images, paths=paths, report=report.to_dict())
    release_freed_memory()  # the decoders' buffers: the process keeps the pixels and little else
    return ImageDataset(torch.from_numpy(images), paths, report, fingerprint, cfg)


# -- scanning ----------------------------------------------------------------


@dataclass
class _Scan:
    root: Path
    files: list[Path] = field(default_factory=list)  # image files, sorted
    problems: list[tuple[str, str]] = field(default_factory=list)  # (folder, reason) not scanned
    ignored: Counter = field(default_factory=Counter)  # extension -> count of non-image files


def _checked_folder(folder: str | os.PathLike) -> Path:
    root = Path(os.path.abspath(Path(folder).expanduser()))
    if not root.exists():
        raise UserError(f"Folder not found: {root}.")
    if not root.is_dir():
        raise UserError(f"Not a folder: {root}.")
    return root


def _scan(root: Path, should_cancel: Callable[[], bool] | None = None) -> _Scan:
    scan = _Scan(root)
    visited: set[tuple[int, int]] = set()
    # Real folders first, linked ones after: when a link points at a folder
    # that is also reachable directly, the link is the one reported as a repeat.
    real: list[Path] = [root]
    linked: list[Path] = []
    while real or linked:
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        via_link = not real
        folder = real.pop() if real else linked.pop()
        try:
            st = folder.stat()
            if (st.st_dev, st.st_ino) in visited:
                why = "link to a folder already included" if via_link else "folder already included"
                scan.problems.append((str(folder), why))
                continue
            visited.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(folder))
        except OSError as e:
            scan.problems.append((str(folder), f"folder not readable ({e.strerror or e})"))
            continue
        if any(entry.name == _PROJECT_FILE for entry in entries):
            scan.problems.append((str(folder), "a GAN Studio project (its sample grids are not training images)"))
            continue
        for entry in entries:
            name = entry.name
            if name.startswith(".") or name in _SKIPPED_DIR_NAMES:
                continue
            try:
                is_dir = entry.is_dir()
                is_link = entry.is_symlink()
            except OSError:
                is_dir, is_link = False, True
            if is_dir:
                (linked if is_link else real).append(Path(entry.path))
                continue
            ext = os.path.splitext(name)[1].lower()
            if ext in IMAGE_EXTENSIONS:
                scan.files.append(Path(entry.path))
            else:
                scan.ignored[ext or "(no extension)"] += 1
    scan.files.sort(key=lambda p: p.relative_to(root).as_posix())
    scan.problems.sort()
    return scan


def _fingerprint(scan: _Scan) -> str:
    h = hashlib.sha256(b"gan-studio dataset fingerprint v1\n")
    for path in scan.files:
        try:
            st = path.stat()
            size, mtime = st.st_size, st.st_mtime_ns
        except OSError:
            size, mtime = -1, -1  # broken link, loop: still part of the list
        h.update(os.fsencode(path.relative_to(scan.root).as_posix()))
        h.update(f"\0{size}\0{mtime}\n".encode())
    return h.hexdigest()


def _sha256(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


# -- decoding ----------------------------------------------------------------


@dataclass
class _Loaded:
    pixels: np.ndarray  # (size, size, C) uint8
    width: int  # upright size of the original image
    height: int
    digest: bytes  # hash of the file bytes, for duplicate detection


def _load_one(path: Path, cfg: DataConfig) -> _Loaded | str:
    """Read, hash and decode one file (runs on a pool thread). Returns the reason on failure."""
    try:
        data = image_decode.read_image_file(path)
        pixels, (w, h) = image_decode.decode(
            data,
            mode=cfg.pil_mode,
            background=cfg.background,
            size=cfg.size,
            fit=cfg.fit,
            max_aspect=MAX_ASPECT_RATIO,
        )
    except ImageDecodeError as e:
        return str(e)
    except MemoryError:  # a huge file on a small machine: skip it, keep the rest
        return "not enough memory to read"
    if _too_short_for_its_size(data, pixels, w, h):
        return f"damaged: {len(data):,} bytes cannot hold its {w} x {h} pixels (it decodes as one flat colour)"
    return _Loaded(pixels, w, h, hashlib.blake2b(data, digest_size=16).digest())


# Most pixels per file byte a complete image of one flat colour reaches (measured with Pillow at
# 8000 x 8000: JPEG ~64, since every 8x8 block costs bits; GIF ~1,300; lossless WebP ~26,000).
# A file far below that is cut short: decoders fill the missing rows with grey, and a flat grey
# picture would be trained on as if it were an image.
_MAX_FLAT_PIXELS_PER_BYTE_JPEG = 1_000
_MAX_FLAT_PIXELS_PER_BYTE = 200_000


def _too_short_for_its_size(data: bytes, pixels: np.ndarray, w: int, h: int) -> bool:
    if pixels.size == 0 or pixels.min() != pixels.max():
        return False
    limit = _MAX_FLAT_PIXELS_PER_BYTE_JPEG if data[:3] == b"\xff\xd8\xff" else _MAX_FLAT_PIXELS_PER_BYTE
    return w * h > limit * len(data)


def _decode_all(
    scan: _Scan,
    cfg: DataConfig,
    progress: Callable[[int, int], None] | None,
    should_cancel: Callable[[], bool] | None,
) -> tuple[np.ndarray, list[str], DatasetReport]:
    total = len(scan.files)
    # Rows are filled in file order as results arrive, so memory peaks at the
    # final array plus a few in-flight images, never a list of all images.
    images = np.empty((total, cfg.channels, cfg.size, cfg.size), dtype=np.uint8)
    paths: list[str] = []
    skipped = list(scan.problems)
    small: list[tuple[str, int, int]] = []
    ratios: list[float] = []
    by_digest: dict[bytes, list[str]] = {}

    # closing(): stop the pool's queued work even when a callback raises here.
    with contextlib.closing(_decode_in_order(scan.files, cfg, should_cancel)) as results:
        for done, (path, result) in enumerate(results, start=1):
            if isinstance(result, str):
                skipped.append((str(path), result))
            else:
                images[len(paths)] = result.pixels.transpose(2, 0, 1)
                paths.append(str(path))
                ratios.append(result.width / result.height)
                if result.width < cfg.size or result.height < cfg.size:
                    small.append((str(path), result.width, result.height))
                by_digest.setdefault(result.digest, []).append(str(path))
            if progress is not None:
                progress(done, total)

    aspect = {}
    if ratios:
        aspect = {
            "min": round(min(ratios), 4),
            "median": round(statistics.median(ratios), 4),
            "max": round(max(ratios), 4),
        }
    report = DatasetReport(
        folder=str(scan.root),
        used=len(paths),
        skipped=skipped,
        duplicates=[group for group in by_digest.values() if len(group) > 1],
        small=small,
        aspect=aspect,
        size=cfg.size,
        ignored=dict(sorted(scan.ignored.items())),
    )
    # A leading-axis slice stays contiguous; the never-written tail rows were
    # never touched, so they cost address space, not memory.
    return images[: len(paths)], paths, report


def _decode_in_order(
    files: list[Path], cfg: DataConfig, should_cancel: Callable[[], bool] | None
) -> Iterator[tuple[Path, _Loaded | str]]:
    """Decode on a small pool, yielding results in file order; only a few are in flight."""
    with ThreadPoolExecutor(DECODE_THREADS, thread_name_prefix="gan-studio-decode") as pool:
        todo = iter(files)
        pending: deque[tuple[Path, Future]] = deque()

        def submit_next() -> None:
            path = next(todo, None)
            if path is not None:
                pending.append((path, pool.submit(_load_one, path, cfg)))

        for _ in range(2 * DECODE_THREADS):
            submit_next()
        try:
            while pending:
                if should_cancel is not None and should_cancel():
                    raise Cancelled()
                path, future = pending.popleft()
                result = future.result()
                submit_next()
                yield path, result
        finally:
            # Cancelled, an error, or the consumer stopped early: drop queued
            # work; the pool then waits only for the images being decoded.
            for _, future in pending:
                future.cancel()


# -- messages ----------------------------------------------------------------


def _no_images_message(scan: _Scan) -> str:
    exts = " ".join(sorted(IMAGE_EXTENSIONS))
    msg = f"No images found in {scan.root} (looking for {exts})"
    if scan.ignored:
        top = ", ".join(f"{ext} x{n}" for ext, n in scan.ignored.most_common(3))
        msg += f"; other files found: {top}"
    if scan.problems:
        path, reason = scan.problems[0]
        msg += f"; could not scan {path}: {reason}"
    return msg + "."


def _all_skipped_message(scan: _Scan, report: DatasetReport) -> str:
    n = len(scan.files)
    first = "; ".join(f"{report.relative(p)}: {r}" for p, r in report.skipped[:3])
    more = f"; and {len(report.skipped) - 3} more" if len(report.skipped) > 3 else ""
    noun = "the only image file was" if n == 1 else f"all {n} image files were"
    return f"No usable images in {scan.root}: {noun} skipped ({first}{more})."
