"""A video clip as a collection: its frames become the training images.

A designer often has footage rather than a folder of pictures. A clip given where a folder is
expected (``--data clip.mp4``, a drop on the wizard) is read frame by frame and each taken frame
goes through the same fitting as an image file (:func:`studio.engine.data.decode.fit_picture`).

* Formats: what the bundled ffmpeg reads (imageio-ffmpeg: MP4, MOV, M4V, WebM, MKV, AVI), and
  animated GIF and WebP through Pillow (ffmpeg cannot read animated WebP).
* Every Nth frame: consecutive frames of a video are nearly the same picture, and a minute of
  footage holds thousands of them. N is the smallest step that keeps at most
  :data:`TARGET_FRAMES` frames, a collection that prepares in seconds and trains like a few
  hundred photos. ffmpeg itself drops the frames in between, so they never cross the pipe.
* Near-identical frames are dropped: a frame whose 32x32 grey thumbnail differs from the last
  frame kept by less than :data:`SIMILAR_LEVEL` grey levels on average (a pause, a held shot, a
  static intro) would only weight that moment more. Comparing with the last *kept* frame, not
  the previous one, keeps a slow pan: its drift adds up until a frame differs enough.
* The dataset report says how many frames were taken from how many (``DatasetReport.frames``).
* The cache key covers the clip's size and modification time, so an edited clip is read again.

Any thread (one call at a time per clip); nothing here touches Qt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import PIL
from PIL import Image

from studio.engine.data import cache as dataset_cache
from studio.engine.data import decode as image_decode
from studio.engine.data.report import DatasetReport
from studio.engine.errors import Cancelled, UserError
from studio.engine.images import open_image

if TYPE_CHECKING:  # dataset.py imports this module: the config is only named here
    from studio.engine.data.dataset import DataConfig

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"})
ANIMATION_EXTENSIONS = frozenset({".gif", ".webp"})  # only when they hold more than one frame
ANIMATION_FORMATS = ("GIF", "WEBP")  # what Pillow may open a clip as
TARGET_FRAMES = 1000  # at most this many frames are taken from one clip
SIMILAR_LEVEL = 2.0  # mean grey-level difference of 32x32 thumbnails below which a frame repeats the last
_THUMB = 32
_OVERSAMPLE = 4  # ffmpeg shrinks big frames to this many times the training size; Pillow does the rest
SELECTION_VERSION = 1  # part of the cache key: bump when the choice of frames changes
FORMATS_TEXT = "MP4, MOV, M4V, WebM, MKV, AVI, or an animated GIF or WebP"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Clip:
    """What a probe found out about a clip, before any frame is decoded."""

    path: Path
    frames: int  # frames in the clip
    width: int  # upright frame size in pixels (a phone's rotation applied)
    height: int
    animation: bool  # a GIF / WebP read by Pillow, not a video read by ffmpeg


def is_file(path: str | os.PathLike) -> bool:
    """True when a dataset source names a file: it must then be a clip (prepare explains otherwise)."""
    return Path(path).expanduser().is_file()


def every_nth(total: int, target: int = TARGET_FRAMES) -> int:
    """The step between taken frames: 1 (every frame) up to `target` frames, then just enough to stay under it."""
    return max(1, math.ceil(total / max(1, target)))


def frame_name(path: str | os.PathLike, index: int) -> str:
    """How a frame is named where a file path would be (tooltips, nearest images): 'clip.mp4#frame 120'."""
    return f"{path}#frame {index}"


def fingerprint(path: str | os.PathLike) -> str:
    """Like a folder's fingerprint: changes when the clip is replaced or edited, not when it is moved."""
    st = Path(path).expanduser().stat()
    h = hashlib.sha256(b"gan-studio video fingerprint v1\n")
    h.update(f"{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def probe(path: str | os.PathLike) -> Clip:
    """Frame count and size of a clip. Raises UserError for a file that is not a readable clip."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    ext = path.suffix.lower()
    if ext in ANIMATION_EXTENSIONS:
        clip = _probe_animation(path)
        if clip.frames > 1:
            return clip
    if ext in ANIMATION_EXTENSIONS or ext in image_decode.IMAGE_EXTENSIONS:
        raise UserError(f"Not a folder: {path} is a single picture, not a video; give the folder that holds it.")
    if ext not in VIDEO_EXTENSIONS:
        raise UserError(f"Not a folder: {path} is a file, not a folder of images or a video ({FORMATS_TEXT}).")
    return _probe_video(path)


class FrameList(list):
    """The names of the frames a clip will give (at most: near-identical ones are dropped later), in
    place of a folder's file list. `frame_size` tells whoever sizes a collection from its files'
    headers (studio.engine.models.suggest.probe_sizes) what a frame measures: a clip has no header per frame."""

    def __init__(self, names: list[str], frame_size: tuple[int, int]):
        super().__init__(names)
        self.frame_size = frame_size


def frame_list(path: str | os.PathLike, target: int = TARGET_FRAMES) -> FrameList:
    """What scanning a clip finds: one name per frame to be read. Raises UserError for a file that is not a clip."""
    clip = probe(path)
    every = every_nth(clip.frames, target)
    return FrameList([frame_name(clip.path, i) for i in range(0, clip.frames, every)], (clip.width, clip.height))


def prepare_frames(
    path: str | os.PathLike,
    cfg: DataConfig,
    *,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    target: int = TARGET_FRAMES,
) -> tuple[np.ndarray, list[str], DatasetReport, str]:
    """The clip's taken frames as uint8 (N, C, size, size), their names, the report and the clip's fingerprint.

    Loaded from the dataset cache when the clip and settings are unchanged. Raises UserError (not a
    clip, unreadable, no frame) or Cancelled; ``progress(done, total)`` runs on the calling thread."""
    clip = probe(path)
    clip_print = fingerprint(clip.path)
    every = every_nth(clip.frames, target)
    settings = {"config": asdict(cfg), "every": every, "similar": SIMILAR_LEVEL, "selection": SELECTION_VERSION,
                "pillow": PIL.__version__}
    folder_id = _sha256([str(clip.path), asdict(cfg)])
    key = _sha256([dataset_cache.FORMAT_VERSION, "video", str(clip.path), clip_print, settings])
    cache_file = dataset_cache.cache_path(Path(cache_dir) if cache_dir else dataset_cache.default_cache_dir(),
                                          folder_id, key)
    expected = math.ceil(clip.frames / every)
    cached = dataset_cache.load(cache_file, key=key, shape=(cfg.channels, cfg.size, cfg.size))
    if cached is not None:
        images, paths, report_dict = cached
        with contextlib.suppress(KeyError, TypeError, ValueError):  # a damaged report: read the clip again
            report = DatasetReport.from_dict(report_dict)
            if progress is not None:
                progress(expected, expected)
            return images, paths, report, clip_print

    images, paths, similar, read = _take_frames(clip, cfg, every, expected, progress, should_cancel)
    if not paths:
        raise UserError(f"No frame could be read from {clip.path}.")
    report = DatasetReport(
        folder=str(clip.path),
        used=len(paths),
        small=[(str(clip.path), clip.width, clip.height)] if min(clip.width, clip.height) < cfg.size else [],
        aspect=dict.fromkeys(("min", "median", "max"), round(clip.width / clip.height, 4)),
        size=cfg.size,
        frames={"total": max(clip.frames, read * every - every + 1), "every": every, "read": read,
                "similar": similar},
    )
    dataset_cache.save(cache_file, key=key, images=images, paths=paths, report=report.to_dict())
    return images, paths, report, clip_print


# -- reading -----------------------------------------------------------------


def _take_frames(clip: Clip, cfg: DataConfig, every: int, expected: int, progress: Progress | None,
                 should_cancel: Callable[[], bool] | None) -> tuple[np.ndarray, list[str], int, int]:
    """Fit every Nth frame, dropping near-identical ones. Returns (images, names, dropped, frames read)."""
    images = np.empty((expected, cfg.channels, cfg.size, cfg.size), np.uint8)
    names: list[str] = []
    last: np.ndarray | None = None
    similar = read = 0
    frames = _animation_frames(clip, every) if clip.animation else _video_frames(clip, every, cfg)
    with contextlib.closing(frames):  # stops ffmpeg when cancelled or failing half-way
        for index, picture in frames:
            if should_cancel is not None and should_cancel():
                raise Cancelled()
            read += 1
            pixels = image_decode.fit_picture(picture, mode=cfg.pil_mode, background=cfg.background,
                                              size=cfg.size, fit=cfg.fit)
            thumb = _thumbnail(pixels)
            if last is not None and np.abs(thumb - last).mean() < SIMILAR_LEVEL:
                similar += 1
            else:
                last = thumb
                if len(names) == len(images):  # the container said fewer frames than it holds
                    images = np.concatenate([images, np.empty_like(images[: max(1, len(images) // 4)])])
                images[len(names)] = pixels.transpose(2, 0, 1)
                names.append(frame_name(clip.path, index))
            if progress is not None:
                progress(min(read, expected), expected)
    return np.ascontiguousarray(images[: len(names)]), names, similar, read


def _thumbnail(pixels: np.ndarray) -> np.ndarray:
    """A 32x32 grey float copy: small enough that sensor and compression noise average out."""
    grey = Image.fromarray(pixels[:, :, :3] if pixels.shape[2] >= 3 else pixels[:, :, 0])
    grey = grey.convert("L").resize((_THUMB, _THUMB), Image.Resampling.BOX)
    return np.asarray(grey, np.float32)


def _animation_frames(clip: Clip, every: int) -> Iterator[tuple[int, Image.Image]]:
    with open_image(clip.path, formats=ANIMATION_FORMATS) as im:
        for index in range(0, clip.frames, every):
            try:
                im.seek(index)
                # RGBA keeps a GIF's transparency for fit_picture to composite as the settings say
                yield index, im.convert("RGBA")
            except (OSError, EOFError, ValueError) as e:
                raise UserError(f"Cannot read frame {index} of {clip.path}: {e}.") from None


def _video_frames(clip: Clip, every: int, cfg: DataConfig) -> Iterator[tuple[int, Image.Image]]:
    import imageio_ffmpeg  # ships its own ffmpeg binary: nothing to install

    filters = [rf"select=not(mod(n\,{every}))"] if every > 1 else []
    side = min(clip.width, clip.height) if cfg.fit == "crop" else max(clip.width, clip.height)
    shrink = _OVERSAMPLE * cfg.size / side
    if shrink < 1:
        w, h = (max(2, round(v * shrink / 2) * 2) for v in (clip.width, clip.height))
        filters.append(f"scale={w}:{h}:flags=area")
    params = (["-vf", ",".join(filters)] if filters else []) + ["-fps_mode", "passthrough"]
    try:
        reader = imageio_ffmpeg.read_frames(str(clip.path), pix_fmt="rgb24", output_params=params)
        with _quiet_ffmpeg_sizes():
            meta = next(reader)
    except (OSError, RuntimeError, StopIteration) as e:
        raise UserError(f"Cannot read the video {clip.path}: {_ffmpeg_reason(e)}.") from None
    w, h = meta["size"]
    try:
        for k, raw in enumerate(reader):
            yield k * every, Image.fromarray(np.frombuffer(raw, np.uint8).reshape(h, w, 3), "RGB")
    except RuntimeError as e:  # ffmpeg stopped part-way: a damaged file
        raise UserError(f"Cannot read the video {clip.path}: {_ffmpeg_reason(e)}.") from None
    finally:
        reader.close()


# -- probing -----------------------------------------------------------------


def _probe_animation(path: Path) -> Clip:
    try:
        with open_image(path, formats=ANIMATION_FORMATS) as im:  # by content: never Pillow's whole list
            frames = int(getattr(im, "n_frames", 1))
            width, height = im.size
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise UserError(f"Cannot read {path}: {e}.") from None
    return Clip(path, frames, width, height, animation=True)


def _probe_video(path: Path) -> Clip:
    import imageio_ffmpeg

    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        with _quiet_ffmpeg_sizes():
            meta = next(reader)
        reader.close()
    except (OSError, RuntimeError, StopIteration) as e:
        raise UserError(f"Cannot read the video {path}: {_ffmpeg_reason(e)}.") from None
    width, height = meta["size"]
    if width * height > image_decode.MAX_PIXELS:
        raise UserError(f"The video {path} is too large ({width}x{height} px).")
    frames = _count_frames(path) or round((meta.get("duration") or 0) * (meta.get("fps") or 0))
    if frames < 1:
        raise UserError(f"The video {path} holds no frames.")
    return Clip(path, frames, width, height, animation=False)


def _count_frames(path: Path) -> int | None:
    """Frames of the first video stream, counted by copying its packets (no decoding: fast)."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-i", str(path), "-map", "0:v:0", "-c", "copy",
           "-f", "null", "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=120).stderr.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in reversed(out.replace("\r", "\n").splitlines()):
        if line.startswith("frame="):
            try:
                return int(line.split("=", 1)[1].split()[0])
            except (IndexError, ValueError):
                return None
    return None


@contextlib.contextmanager
def _quiet_ffmpeg_sizes() -> Iterator[None]:
    """imageio-ffmpeg logs a warning whenever the frames read differ in size from the stored ones,
    which is the point of the shrinking filter and of a phone's rotation: not news for the user."""
    log = logging.getLogger("imageio_ffmpeg")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _ffmpeg_reason(e: BaseException) -> str:
    """ffmpeg's messages are pages long; the designer gets the gist."""
    text = str(e).lower()
    if "no such file" in text:
        return "the file is gone"
    if "permission denied" in text:
        return "permission denied"
    return "it is damaged or in a format the bundled ffmpeg cannot decode"


def _sha256(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
