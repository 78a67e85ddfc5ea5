"""Writers of good and hostile image files, for tests of anything that reads image folders.

Every ``write_*`` function creates one file (or link, or folder) in ``folder``
and returns its path. :func:`write_hostile_corpus` fills a folder with good
images plus one of every hostile kind and says which is which, so a test (data
loader, studio, training) can check that good images are used and bad ones
reported. Tests run as root, where ``chmod 000`` does not stop reading: use
:func:`simulate_unreadable` to make the "unreadable" file fail for real.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

GOOD_FORMATS = (("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"), ("bmp", "BMP"), ("gif", "GIF"), ("tif", "TIFF"))
UNREADABLE_NAME = "unreadable.png"


def pattern(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A smooth RGB test picture (uint8 HxWx3), different for each seed; survives JPEG well."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((height, width, 3), np.float32)
    for c in range(3):
        fx, fy, phase = rng.uniform(0.5, 3.0), rng.uniform(0.5, 3.0), rng.uniform(0, 6.3)
        out[..., c] = 127.5 + 120 * np.sin(fx * x / max(width, 1) * 6.3 + fy * y / max(height, 1) * 6.3 + phase)
    return out.round().astype(np.uint8)


def encode(pixels: np.ndarray | Image.Image, fmt: str, **options) -> bytes:
    """The bytes of ``pixels`` saved in Pillow format ``fmt``."""
    im = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


def write_image(folder: Path, name: str, pixels: np.ndarray | Image.Image, fmt: str | None = None, **options) -> Path:
    """Save ``pixels`` as ``folder/name`` (format from the extension unless ``fmt``)."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    im = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    im.save(path, fmt, **options)
    return path


def write_good_images(folder: Path, count: int = 20, size: tuple[int, int] = (40, 32),
                      prefix: str = "good") -> list[Path]:
    """``count`` distinct valid images cycling through every supported format."""
    paths = []
    first_seed = zlib.crc32(prefix.encode()) % 100_000  # distinct pictures for each prefix
    for i in range(count):
        ext, fmt = GOOD_FORMATS[i % len(GOOD_FORMATS)]
        pixels = pattern(*size, seed=first_seed + i)
        im = Image.fromarray(pixels)
        if fmt == "GIF":
            im = im.quantize(64)
        paths.append(write_image(folder, f"{prefix}-{i:03d}.{ext}", im, fmt))
    return paths


# -- hostile kinds -------------------------------------------------------------


def write_empty(folder: Path, name: str = "empty.jpg") -> Path:
    path = Path(folder) / name
    path.write_bytes(b"")
    return path


def write_truncated(folder: Path, fraction: float, fmt: str = "JPEG", ext: str = "jpg") -> Path:
    """A valid image cut after ``fraction`` of its bytes."""
    data = encode(pattern(64, 48, seed=7), fmt)
    path = Path(folder) / f"truncated-{int(fraction * 100):02d}.{ext}"
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def write_bad_png_crc(folder: Path, name: str = "bad-crc.png") -> Path:
    """A PNG whose IHDR checksum is wrong."""
    data = bytearray(encode(pattern(16, 16, seed=3), "PNG"))
    data[29] ^= 0xFF  # last byte of the IHDR CRC (8 signature + 4 len + 4 type + 13 data)
    path = Path(folder) / name
    path.write_bytes(bytes(data))
    return path


def write_text_as_image(folder: Path, name: str = "notes.jpg") -> Path:
    path = Path(folder) / name
    path.write_text("Meeting notes: bring the moodboard.\n" * 20)
    return path


def write_unreadable(folder: Path, name: str = UNREADABLE_NAME) -> Path:
    """A valid PNG with mode 000. Only unreadable for non-root users: see simulate_unreadable()."""
    path = write_image(folder, name, pattern(16, 16, seed=4))
    path.chmod(0)
    return path


def simulate_unreadable(monkeypatch, name: str = UNREADABLE_NAME) -> None:
    """Make the image decoder's ``open`` fail with EACCES for files called ``name``, as for a non-root user."""
    import studio.engine.data.decode as image_decode

    def guarded_open(file, *args, **kwargs):
        if os.path.basename(os.fsdecode(file)) == name:
            raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(file))
        return builtins.open(file, *args, **kwargs)

    monkeypatch.setattr(image_decode, "open", guarded_open, raising=False)


def write_broken_link(folder: Path, name: str = "moved-away.png") -> Path:
    path = Path(folder) / name
    path.symlink_to(Path(folder) / "does-not-exist.png")
    return path


def write_file_link_loop(folder: Path, name: str = "loop.jpg") -> Path:
    """A symlink pointing at itself."""
    path = Path(folder) / name
    path.symlink_to(name)
    return path


def write_folder_link_loop(folder: Path) -> Path:
    """``folder/nested/back-to-top`` -> ``folder``: walking links naively never ends."""
    nested = Path(folder) / "nested"
    nested.mkdir(exist_ok=True)
    link = nested / "back-to-top"
    link.symlink_to(Path(folder).resolve(), target_is_directory=True)
    return link


def write_fifo(folder: Path, name: str = "pipe.png") -> Path:
    """A named pipe with an image name: opening it for reading would block forever."""
    path = Path(folder) / name
    os.mkfifo(path)
    return path


def write_bomb_png(folder: Path, width: int = 25000, height: int = 25000, name: str | None = None) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` greyscale pixels."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
        + chunk(b"IEND", b"")
    )
    path = Path(folder) / (name or f"bomb-{width}x{height}.png")
    path.write_bytes(data)
    return path


def write_extreme_aspect(folder: Path, name: str = "line-65535x1.png") -> Path:
    return write_image(folder, name, np.full((1, 65535, 3), 90, np.uint8))


def write_tiny(folder: Path, name: str = "tiny-1x1.png") -> Path:
    return write_image(folder, name, np.array([[[200, 30, 60]]], np.uint8))


def write_non_ascii(folder: Path, name: str = "ÉtÉ été 夏 🌞.png") -> Path:
    return write_image(folder, name, pattern(24, 24, seed=5))


def write_multiframe_gif(folder: Path, name: str = "animated.gif", colours=((255, 0, 0), (0, 0, 255))) -> Path:
    frames = [Image.new("RGB", (20, 20), c) for c in colours]
    path = Path(folder) / name
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def write_multipage_tiff(folder: Path, name: str = "pages.tif", colours=((0, 255, 0), (255, 0, 255))) -> Path:
    frames = [Image.new("RGB", (20, 20), c) for c in colours]
    path = Path(folder) / name
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def write_not_images(folder: Path) -> list[Path]:
    """Files a scan must ignore silently: other extensions, hidden files, macOS leftovers."""
    folder = Path(folder)
    paths = [folder / "readme.txt", folder / "Thumbs.db", folder / "photo.heic", folder / ".DS_Store"]
    for p in paths:
        p.write_bytes(b"not an image")
    paths.append(write_text_as_image(folder, "._holiday.jpg"))  # AppleDouble resource file
    macosx = folder / "__MACOSX"
    macosx.mkdir(exist_ok=True)
    paths.append(write_text_as_image(macosx, "._good.jpg"))
    return paths


@dataclass
class Corpus:
    """What :func:`write_hostile_corpus` wrote."""

    folder: Path
    good: list[Path] = field(default_factory=list)  # must be used
    bad: dict[Path, str] = field(default_factory=dict)  # must be skipped; value: a word expected in the reason
    ignored: list[Path] = field(default_factory=list)  # must not even be scanned
    small: list[Path] = field(default_factory=list)  # good images smaller than 16 px
    duplicates: list[Path] = field(default_factory=list)  # two byte-identical good files


def write_hostile_corpus(folder: Path, good_count: int = 20) -> Corpus:
    """``good_count`` good images (one duplicate pair, one 1x1) plus one file of every hostile kind.

    Combine with :func:`simulate_unreadable` for the unreadable file to fail
    when running as root.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sub = folder / "sub folder"
    sub.mkdir()
    c = Corpus(folder)
    c.good += write_good_images(folder, good_count - 6)
    c.good += write_good_images(sub, 1, prefix="nested")
    c.good += [write_non_ascii(folder), write_multiframe_gif(folder), write_multipage_tiff(sub)]
    tiny = write_tiny(folder)
    c.good.append(tiny)
    c.small.append(tiny)
    copy = sub / ("copy of " + c.good[0].name)
    copy.write_bytes(c.good[0].read_bytes())
    c.good.append(copy)
    c.duplicates += [c.good[0], copy]

    c.bad[write_empty(folder)] = "empty"
    for fraction in (0.10, 0.50, 0.99):
        c.bad[write_truncated(folder, fraction)] = "truncated"
    c.bad[write_truncated(sub, 0.5, "PNG", "png")] = "truncated"
    c.bad[write_bad_png_crc(folder)] = "damaged"
    c.bad[write_text_as_image(folder)] = "not an image"
    c.bad[write_unreadable(folder)] = "permission"
    c.bad[write_broken_link(folder)] = "broken link"
    c.bad[write_file_link_loop(folder)] = "loop"
    c.bad[write_fifo(folder)] = "not a regular file"
    c.bad[write_bomb_png(folder)] = "too large"
    c.bad[write_bomb_png(folder, 9000, 9000)] = "too large"
    c.bad[write_extreme_aspect(folder)] = "aspect"
    c.bad[write_folder_link_loop(folder)] = "already included"
    c.ignored += write_not_images(folder)
    return c
