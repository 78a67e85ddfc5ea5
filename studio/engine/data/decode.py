"""Robust decoding of one untrusted image file into a uint8 numpy array.

Everything a designer's folder can contain goes through here: camera JPEGs with
EXIF rotation, CMYK prints, 16-bit scans, palette GIFs with transparency,
half-copied files, renamed text files and decompression bombs. Every failure
becomes an :class:`ImageDecodeError` whose text is a short reason a person can
read ("truncated file"); no other exception escapes :func:`decode`.

Policies (documented here because users will ask):

* Size limit: images over :data:`MAX_PIXELS` are refused from their header,
  before any pixel is decoded. Pillow's process-wide ``Image.MAX_IMAGE_PIXELS``
  and ``ImageFile.LOAD_TRUNCATED_IMAGES`` are never changed; Pillow's own bomb
  error and warning are caught locally.
* Truncated files are errors: Pillow can only decode them partially through the
  global ``LOAD_TRUNCATED_IMAGES`` switch, which would affect every other user
  of Pillow in the process, and a half-grey image is bad training data anyway.
* High bit depth: 16-bit images ("I;16*", and mode "I" whose values fit in
  0..65535) are scaled so 65535 -> 255. Mode "I" outside that range and float
  images (mode "F") use the 0..1 convention when all values lie in [0, 1],
  otherwise they are stretched from their own min..max. NaN/inf count as the
  minimum/maximum.
* Transparency is composited over a solid background after resizing (Pillow
  resizes RGBA premultiplied, so edges do not get dark fringes), or kept.
* Colour management: RGB(A) pixels tagged with an ICC profile other than sRGB
  (Display P3 from phones, Adobe RGB from cameras and scanners) are converted to
  sRGB, the space of untagged pictures and of everything the studio shows and
  writes; left as they are, their colours would come out dull or shifted. A
  damaged profile is ignored. Other modes (CMYK, grey, palettes) keep Pillow's
  plain conversion.

Thread safety: :func:`decode` may be called from any thread, concurrently;
Pillow releases the GIL while decoding and resizing.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from typing import BinaryIO, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from studio.engine.images import IMAGE_FORMATS, open_image

# Files taken as images, by extension in any case (here rather than in data.py, which imports
# torch: the studio's translate panel needs the list at start-up).
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})

# Largest image decoded, in pixels (an 8000x8000 photo). Bigger ones are refused
# from the header: a 64 Mpx RGBA image already needs 256 MB while decoding.
MAX_PIXELS = 64_000_000

# Largest file read into memory. Real photos are far smaller; this guards
# against a 20 GB video renamed to .jpg.
MAX_FILE_BYTES = 512 * 1024 * 1024

# The only formats Pillow may use: the program-wide list of studio.engine.images.
# Anything else (EPS would start Ghostscript, PSD, ICO, ...) is "not an image".
ALLOWED_FORMATS = IMAGE_FORMATS

# When shrinking, JPEGs are decoded by libjpeg at 1/2, 1/4 or 1/8 scale
# (Image.draft) while staying at least this many times the target size; the
# remaining reduction uses Image.reduce (box filter) and then LANCZOS.
_OVERSAMPLE = 2
_REDUCING_GAP = 3.0

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO
OutMode = Literal["L", "RGB", "RGBA"]
Fit = Literal["crop", "pad"]

# Pillow reports bombs with a warning (above MAX_IMAGE_PIXELS) or an error
# (above twice that). Turning the warning into an error needs catch_warnings,
# which swaps the process-wide filter list and is not thread-safe on Python
# 3.11, so header parsing (Image.open, EXIF) is serialised. It takes
# microseconds; decoding and resizing run in parallel.
_HEADER_LOCK = threading.Lock()

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)

_HIGH_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


class ImageDecodeError(Exception):
    """An image that cannot be used; ``str(e)`` is a short human reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_image_file(path: str | os.PathLike) -> bytes:
    """Read a whole image file, refusing what is not a plain, sane-sized file.

    Raises ImageDecodeError ("file not found", "permission denied", "empty
    file", ...). Any thread.
    """
    try:
        # stat before open: opening a FIFO named x.png would block forever.
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ImageDecodeError("is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise ImageDecodeError("not a regular file")
        if st.st_size == 0:
            raise ImageDecodeError("empty file")
        if st.st_size > MAX_FILE_BYTES:
            raise ImageDecodeError(f"file too large ({st.st_size // 2**20} MB)")
        with open(path, "rb") as f:
            # Exactly the stat size: read(n) allocates n bytes up front. A file
            # still being written comes out short and fails as truncated.
            data = f.read(st.st_size)
    except OSError as e:
        raise ImageDecodeError(_os_reason(e, path)) from None
    if not data:
        raise ImageDecodeError("empty file")
    return data


def decode(
    source: Source,
    *,
    mode: OutMode = "RGB",
    background: int = 255,
    size: int | None = None,
    fit: Fit = "crop",
    max_aspect: float | None = None,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode ``source`` into a uint8 HxWxC array (C = 1, 3 or 4 for ``mode``).

    ``source`` is a path, the file's bytes or a binary file object. With
    ``size`` the image is fitted into a ``size`` x ``size`` square: "crop"
    takes the centred square, "pad" letterboxes with ``background`` (a grey
    level, 255 = white) or with transparency when ``mode`` is "RGBA". Without
    ``size`` the full-resolution image is returned. ``max_aspect`` refuses
    images whose long side exceeds that many times the short side, before
    decoding pixels.

    Returns ``(pixels, (width, height))``, the size being the upright (EXIF-
    rotated) size of the original image. Raises ImageDecodeError, nothing else.
    Any thread.
    """
    if mode not in ("L", "RGB", "RGBA"):
        raise ValueError(f"mode must be L, RGB or RGBA, not {mode!r}")
    if fit not in ("crop", "pad"):
        raise ValueError(f"fit must be 'crop' or 'pad', not {fit!r}")
    if size is not None and size < 1:
        raise ValueError(f"size must be positive, not {size}")

    if isinstance(source, (bytes, bytearray, memoryview)):
        fp: BinaryIO = io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        fp = io.BytesIO(read_image_file(source))
    else:
        fp = source
    try:
        with _open(fp) as im:
            return _decode_opened(im, mode, background, size, fit, max_aspect)
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageDecodeError(_bomb_reason(str(e))) from None
    except UnidentifiedImageError:
        kind = _signature(fp)
        raise ImageDecodeError(f"damaged {kind} file" if kind else "not an image") from None
    except MemoryError:
        raise ImageDecodeError("not enough memory to decode") from None
    except Exception as e:  # noqa: BLE001 - untrusted input: any decoder failure is a bad file
        raise ImageDecodeError(_decoder_reason(e)) from None


@contextlib.contextmanager
def _header_parsing() -> Iterator[None]:
    """Bomb warnings become errors; Pillow's other warnings about damaged
    metadata ("Corrupt EXIF data", "Truncated File Read") are silenced: the
    file either decodes or gets a reason, and the CLI output stays clean."""
    with _HEADER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _open(fp: BinaryIO) -> Image.Image:
    with _header_parsing():
        return open_image(fp, formats=ALLOWED_FORMATS)


def fit_picture(im: Image.Image, *, mode: OutMode, background: int, size: int, fit: Fit) -> np.ndarray:
    """An already decoded picture (a video frame) fitted as :func:`decode` fits a file: the same
    mode conversion, crop or letterbox, filters and transparency, so frames and files train alike.
    Returns uint8 (size, size, C). Any thread."""
    work = _fit(_to_working_mode(im, mode), size, fit, background)
    if work.mode in ("LA", "RGBA") and mode != "RGBA":
        work = _composite(work, background)
    if work.mode != mode:
        work = work.convert(mode)
    pixels = np.asarray(work, dtype=np.uint8)
    return np.ascontiguousarray(pixels[:, :, None] if pixels.ndim == 2 else pixels)


def _decode_opened(
    im: Image.Image,
    mode: OutMode,
    background: int,
    size: int | None,
    fit: Fit,
    max_aspect: float | None,
) -> tuple[np.ndarray, tuple[int, int]]:
    w, h = im.size
    if w < 1 or h < 1:
        raise ImageDecodeError(f"damaged file (size {w}x{h})")
    if w * h > MAX_PIXELS:
        raise ImageDecodeError(f"too large ({w}x{h} px, limit {MAX_PIXELS // 1_000_000} Mpx)")
    if max_aspect is not None and max(w, h) > max_aspect * min(w, h):
        raise ImageDecodeError(f"extreme aspect ratio ({w}x{h} px)")

    if size is not None:
        # Cheapest possible decode for big JPEGs; a no-op for other formats.
        side = min(w, h) if fit == "crop" else max(w, h)
        k = _OVERSAMPLE * size / side
        if k < 1:
            draft_mode = "L" if mode == "L" else None
            im.draft(draft_mode, (max(1, int(w * k)), max(1, int(h * k))))
    _exif_orientation(im)  # parse EXIF now, quietly: TIFF's load() re-reads this cache
    im.load()

    # Asked after load(): Pillow's TIFF plugin applies (and removes) the
    # orientation itself, and already reported the upright size at open;
    # other formats leave the orientation to us.
    orientation = _exif_orientation(im)
    upright = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    work = _to_working_mode(_to_srgb(im), mode)
    transpose = _TRANSPOSES.get(orientation)
    if transpose is not None:
        work = work.transpose(transpose)

    if size is not None:
        work = _fit(work, size, fit, background)
    if work.mode in ("LA", "RGBA") and mode != "RGBA":
        work = _composite(work, background)
    if work.mode != mode:
        work = work.convert(mode)

    pixels = np.asarray(work, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return np.ascontiguousarray(pixels), upright


_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _exif_orientation(im: Image.Image) -> int:
    # Same lookup as ImageOps.exif_transpose, but a garbled EXIF block only
    # loses the rotation instead of the whole image.
    try:
        with _header_parsing():
            value = im.getexif().get(0x0112, 1)
        return int(value) if value in _TRANSPOSES else 1
    except Exception:  # noqa: BLE001 - broken EXIF is common and harmless
        return 1


def _to_srgb(im: Image.Image) -> Image.Image:
    """`im` converted to sRGB when it is RGB(A) tagged with another ICC profile, else `im` itself."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA"):
        return im
    transform = _srgb_transform(bytes(icc), "RGBA" if "transparency" in im.info else im.mode)
    if transform is None:
        return im
    if im.mode == "RGB" and "transparency" in im.info:
        im = im.convert("RGBA")  # apply a colour key while it still matches the pixels
    from PIL import ImageCms

    try:
        return ImageCms.applyTransform(im, transform)
    except (ImageCms.PyCMSError, ValueError, OSError):
        return im


@functools.lru_cache(maxsize=16)
def _srgb_transform(icc: bytes, mode: str):
    """A cached profile -> sRGB transform, or None for sRGB itself and for profiles LittleCMS
    cannot read. NOCACHE: LittleCMS's one-pixel cache is not safe when decoding threads share
    a transform."""
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower():
            return None  # by far the most common tag: nothing to do
        return ImageCms.buildTransform(source, _srgb_profile(), mode, mode, flags=ImageCms.Flags.NOCACHE)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


@functools.lru_cache(maxsize=1)
def _srgb_profile():
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_working_mode(im: Image.Image, out: OutMode) -> Image.Image:
    """Convert any Pillow mode to L, LA, RGB or RGBA, the fewest channels ``out`` needs."""
    src = im.mode
    if src in _HIGH_BIT_MODES:
        im = _high_bit_to_l(im)
    elif src == "1":
        im = im.convert("L")
    elif src in ("P", "PA"):
        im = im.convert("RGBA" if src == "PA" or "transparency" in im.info else "RGB")
    elif src in ("L", "RGB") and "transparency" in im.info:
        im = im.convert("RGBA")  # a tRNS colour key
    elif src == "La":
        im = im.convert("LA")
    elif src == "RGBa":
        im = im.convert("RGBA")
    elif src not in ("L", "LA", "RGB", "RGBA"):
        try:
            im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, RGBX
        except (ValueError, OSError):
            raise ImageDecodeError(f"unsupported colour mode ({src})") from None

    if out == "RGBA" and im.mode != "RGBA":
        return im.convert("RGBA")
    if out == "L" and im.mode in ("RGB", "RGBA"):
        return im.convert("LA" if im.mode == "RGBA" else "L")
    return im


def _high_bit_to_l(im: Image.Image) -> Image.Image:
    """Scale a 16-bit, 32-bit integer or float greyscale image to 8 bits (not clamp)."""
    values = np.asarray(im)
    if im.mode.startswith("I;16"):
        lo, hi = 0.0, 65535.0
    else:
        lo, hi = _finite_range(values)
        if im.mode == "I" and lo >= 0 and hi <= 65535:
            lo, hi = 0.0, 65535.0  # 16-bit data that Pillow opened as 32-bit "I"
        elif im.mode == "F" and lo >= 0 and hi <= 1:
            lo, hi = 0.0, 1.0
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out = np.empty(values.shape, dtype=np.uint8)
    # In row blocks so a 64 Mpx scan never needs a full float copy.
    for r in range(0, values.shape[0], 256):
        block = values[r : r + 256].astype(np.float32)
        np.nan_to_num(block, copy=False, nan=lo, posinf=hi, neginf=lo)
        block -= lo
        block *= scale
        np.clip(np.rint(block, out=block), 0, 255, out=block)
        out[r : r + 256] = block
    return Image.fromarray(out, "L")


def _finite_range(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.inf, -np.inf
    for r in range(0, values.shape[0], 256):
        block = values[r : r + 256]
        if block.dtype.kind == "f":
            block = block[np.isfinite(block)]
        if block.size:
            lo = min(lo, float(block.min()))
            hi = max(hi, float(block.max()))
    return (lo, hi) if lo <= hi else (0.0, 0.0)


def _fit(im: Image.Image, size: int, fit: Fit, background: int) -> Image.Image:
    w, h = im.size
    if fit == "crop":
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        if side != max(w, h):
            # A real crop, not resize(box=...): with a box, the filter also
            # reads pixels outside it and the cut-off sides bleed into the edge.
            im = im.crop((left, top, left + side, top + side))
        return _resize(im, (size, size), shrinking=side > size)

    scale = size / max(w, h)
    new = (max(1, min(size, round(w * scale))), max(1, min(size, round(h * scale))))
    resized = _resize(im, new, shrinking=scale < 1)
    if new == (size, size):
        return resized
    has_alpha = im.mode in ("LA", "RGBA")
    fill: int | tuple[int, ...]
    if has_alpha:
        fill = (0,) * len(im.mode)  # transparent: composited later, or kept
    else:
        fill = background if im.mode == "L" else (background,) * 3
    canvas = Image.new(im.mode, (size, size), fill)
    canvas.paste(resized, ((size - new[0]) // 2, (size - new[1]) // 2))
    return canvas


def _resize(im: Image.Image, new_size: tuple[int, int], *, shrinking: bool) -> Image.Image:
    if im.size == new_size:
        return im
    if shrinking:
        return im.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)
    # LANCZOS rings visibly when enlarging tiny images; bicubic is calmer.
    return im.resize(new_size, Image.Resampling.BICUBIC)


def _composite(im: Image.Image, background: int) -> Image.Image:
    colour_mode = "L" if im.mode == "LA" else "RGB"
    fill = background if colour_mode == "L" else (background,) * 3
    base = Image.new(colour_mode, im.size, fill)
    base.paste(im, (0, 0), im)  # the image's own alpha as the mask
    return base


# -- failure reasons ---------------------------------------------------------


def _os_reason(e: OSError, path) -> str:
    if e.errno == errno.ENOENT:
        return "broken link" if os.path.islink(path) else "file not found"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if e.errno == errno.EISDIR:
        return "is a folder, not a file"
    if e.errno == errno.ELOOP:
        return "symbolic link loop"
    if e.errno == errno.EIO:
        return "read error (damaged disk or network drive?)"
    return f"cannot read file ({e.strerror or e})"


def _bomb_reason(message: str) -> str:
    # Pillow says "Image size (625000000 pixels) exceeds limit of ..."
    digits = message.split("(", 1)[-1].split(" ", 1)[0]
    if digits.isdigit():
        return f"too large ({int(digits) // 1_000_000} Mpx, limit {MAX_PIXELS // 1_000_000} Mpx)"
    return "too large"


def _decoder_reason(e: Exception) -> str:
    text = str(e)
    if "truncated" in text.lower():
        return "truncated file"
    if "could not create decoder object" in text:  # Pillow's WebP wording
        return "damaged or truncated file"
    if isinstance(e, (SyntaxError, EOFError, OSError, ValueError)):
        detail = text.splitlines()[0][:80] if text else type(e).__name__
        return f"damaged file ({detail})"
    return f"cannot decode ({type(e).__name__}: {text[:80]})"


def _signature(fp: BinaryIO) -> str | None:
    """The format a file claims by its first bytes, to tell "damaged" from "not an image"."""
    try:
        fp.seek(0)
        head = fp.read(16)
    except Exception:  # noqa: BLE001 - only used to word a message
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    return next((name for sig, name in _SIGNATURES if head.startswith(sig)), None)
