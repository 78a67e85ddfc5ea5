"""Exports: pictures (PNG, 1x or enlarged), grids, pad contact sheets, latent-walk animations
(GIF / MP4 / WebP), training time-lapses, and the generator as ONNX.

Engine code (no Qt). Long exports take `progress(done, total)` and `should_cancel()` callbacks and
run on whichever thread calls them (the studio runs them on a task thread with its own generator,
never the render worker's); a cancelled export raises `Cancelled` and leaves no partial file. Every
file is written under a temporary name in the target folder and renamed into place when complete.

Pictures come from a `generate(latents) -> uint8 (B, H, W, C)` callable, so the same code serves
`GeneratorModel.generate`, the renderer, or a test double.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from studio.engine.atomic import make_temp, remove_stale_temp_files
from studio.engine.errors import Cancelled, UserError
from studio.engine.explore.latent import WalkSettings, bilinear, pad_grid_positions, truncate, walk_latents
from studio.engine.images import load_png, make_grid, save_png

Generate = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[int, int], None]
ShouldCancel = Callable[[], bool]

ANIMATION_FORMATS = (".gif", ".mp4", ".webp")
IMAGE_FORMATS = (".png",)
RENDER_BATCH = 16  # frames rendered per generator call: big enough to be efficient, small enough to cancel quickly


def _noop_progress(done: int, total: int) -> None:
    pass


def _never() -> bool:
    return False


# ----- pictures ------------------------------------------------------------------------------------------
def upscale(picture: np.ndarray, scale: int = 1, smooth: bool = False) -> np.ndarray:
    """Enlarge an (H, W, C) uint8 picture by a whole factor: nearest neighbour keeps every generated
    pixel a crisp square (pixel-art look, honest about the resolution), smooth uses Lanczos."""
    scale = int(scale)
    if scale < 1:
        raise UserError("The scale must be 1 or more.")
    if scale == 1:
        return picture
    if not smooth:
        return np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)
    h, w, c = picture.shape
    im = Image.fromarray(picture[:, :, 0] if c == 1 else picture)
    out = np.asarray(im.resize((w * scale, h * scale), Image.Resampling.LANCZOS))
    return out[:, :, None] if out.ndim == 2 else out


def check_extension(path: Path | str, allowed: Sequence[str], what: str) -> Path:
    """UserError unless `path` ends in one of `allowed` (case-insensitive); returns it as a Path."""
    path = Path(path)
    if path.suffix.lower() not in allowed:
        shown = path.suffix or "no extension"
        raise UserError(f"{path.name}: {what} can be saved as {', '.join(allowed)} (got {shown}).")
    return path


def _check_folder(path: Path) -> None:
    if not path.parent.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"Cannot create folder {path.parent}: {e.strerror}.") from None
    remove_stale_temp_files(path.parent, dead_writers_only=True)  # an earlier export killed mid-write


def save_image(path: Path | str, picture: np.ndarray, scale: int = 1, smooth: bool = False) -> Path:
    """Save one (H, W, C) uint8 picture as PNG at `scale` x its size. Any thread."""
    path = check_extension(path, IMAGE_FORMATS, "pictures")
    _check_folder(path)
    _write(lambda: save_png(path, upscale(np.asarray(picture), scale, smooth)), path)
    return path


def grid_picture(pictures: np.ndarray, nrow: int | None = None, scale: int = 1, smooth: bool = False,
                 padding: int | None = None) -> np.ndarray:
    """Tile (B, H, W, C) pictures into one picture, each enlarged by `scale` (padding stays thin)."""
    pictures = np.asarray(pictures)
    if len(pictures) == 0:
        raise UserError("There are no pictures to put in a grid.")
    big = np.stack([upscale(p, scale, smooth) for p in pictures]) if scale != 1 else pictures
    pad = padding if padding is not None else max(2, scale)
    return make_grid(big, nrow=nrow, padding=pad)


def save_grid(path: Path | str, pictures: np.ndarray, nrow: int | None = None, scale: int = 1,
              smooth: bool = False) -> Path:
    """Save a grid of pictures (a gallery, a selection) as one PNG. Any thread."""
    path = check_extension(path, IMAGE_FORMATS, "grids")
    _check_folder(path)
    picture = grid_picture(pictures, nrow, scale, smooth)
    _write(lambda: save_png(path, picture), path)
    return path


def pad_sheet_latents(corners: np.ndarray, n: int, spherical: bool = False, psi: float = 1.0) -> np.ndarray:
    """The n x n latents of a pad's contact sheet, row-major (top row first): (n * n, z_dim)."""
    u, v = pad_grid_positions(n)
    return truncate(bilinear(corners, u, v, spherical).reshape(n * n, -1), psi)


def contact_sheet(generate: Generate, latents: np.ndarray, n: int, scale: int = 1, smooth: bool = False,
                  labels: np.ndarray | None = None) -> np.ndarray:
    """Render n * n latents (row-major) into one n x n contact-sheet picture. `labels`, for a
    generator with classes: class weights per latent (n * n, classes), and `generate` is then called
    as generate(latents, class_weights)."""
    latents = np.asarray(latents, dtype=np.float32)
    if len(latents) != n * n:
        raise ValueError(f"a {n} x {n} contact sheet needs {n * n} latents, got {len(latents)}")
    parts = range(0, len(latents), 64)
    pictures = np.concatenate([generate(latents[i : i + 64]) if labels is None else
                               generate(latents[i : i + 64], labels[i : i + 64]) for i in parts])
    return grid_picture(pictures, nrow=n, scale=scale, smooth=smooth)


# ----- animations --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnimationSettings:
    """How frames are encoded."""

    fps: float = 24.0  # frames per second
    scale: int = 4  # enlarge each frame by this whole factor (a 64 px generator makes tiny videos)
    smooth: bool = False  # Lanczos instead of crisp nearest-neighbour enlargement
    quality: int = 90  # WebP quality 0-100 (MP4 uses a visually lossless CRF 18)

    def validate(self) -> None:
        if not (0 < self.fps <= 120):
            raise UserError(f"Frames per second must be between 0 and 120 (got {self.fps}).")
        if self.scale < 1 or self.scale > 16:
            raise UserError(f"The scale must be between 1 and 16 (got {self.scale}).")


def _rgb(frame: np.ndarray, keep_alpha: bool) -> np.ndarray:
    """Frames for encoders: grey -> RGB; RGBA composited on white unless the format keeps alpha."""
    c = frame.shape[2]
    if c == 1:
        return np.repeat(frame, 3, axis=2)
    if c == 4 and not keep_alpha:
        a = frame[:, :, 3:4].astype(np.float32) / 255
        return np.rint(frame[:, :, :3] * a + 255 * (1 - a)).astype(np.uint8)
    return frame


def _temp_path(path: Path) -> Path:
    fd, tmp = make_temp(path, suffix=path.suffix.lower())  # the suffix tells encoders the format
    os.close(fd)
    return Path(tmp)


def _write(write_fn, path: Path) -> None:
    try:
        write_fn()
    except OSError as e:
        raise UserError(f"Cannot write {path}: {e.strerror or e}.") from None


def write_animation(path: Path | str, frames: Iterable[np.ndarray], count: int, settings: AnimationSettings,
                    progress: Progress = _noop_progress, should_cancel: ShouldCancel = _never) -> Path:
    """Encode `count` (H, W, C) uint8 frames as GIF, MP4 (H.264) or WebP, chosen by the extension.

    Frames are enlarged by `settings.scale`. The file appears only when complete; on cancel
    (`should_cancel()` between frames) or failure nothing is left behind. Deterministic: the same
    frames and settings give the same bytes."""
    path = check_extension(path, ANIMATION_FORMATS, "animations")
    settings.validate()
    _check_folder(path)
    ext = path.suffix.lower()
    tmp = _temp_path(path)
    done = 0

    def scaled():
        nonlocal done
        for frame in frames:
            if should_cancel():
                raise Cancelled()
            yield upscale(np.asarray(frame), settings.scale, settings.smooth)
            done += 1
            progress(done, count)

    try:
        if ext == ".mp4":
            _write_mp4(tmp, scaled(), settings)
        else:
            _write_pillow(tmp, scaled(), settings, ext)
        if done == 0:
            raise UserError("The animation has no frames.")
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError):
            raise UserError(f"Cannot write {path}: {e.strerror or e}.") from None
        raise
    return path


def _write_pillow(path: Path, frames: Iterable[np.ndarray], settings: AnimationSettings, ext: str) -> None:
    if ext == ".gif":
        # Octree palettes per frame: ~60x faster than Pillow's default median cut (0.5 s for a
        # 548 px frame on this CPU) for an error within a level; deterministic either way.
        images = [Image.fromarray(_rgb(f, keep_alpha=False)).quantize(
            256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG) for f in frames]
    else:
        images = [Image.fromarray(_rgb(f, keep_alpha=True)) for f in frames]
    if not images:
        return
    duration = 1000.0 / settings.fps
    if ext == ".gif":
        # GIF delays are whole centiseconds: round once, the same for every frame
        images[0].save(path, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(round(duration / 10) * 10), loop=0, optimize=False, disposal=1)
    else:
        images[0].save(path, format="WEBP", save_all=True, append_images=images[1:], duration=int(round(duration)),
                       loop=0, quality=settings.quality, method=4, lossless=False)


def _write_mp4(path: Path, frames: Iterable[np.ndarray], settings: AnimationSettings) -> None:
    import imageio_ffmpeg  # ships its own ffmpeg binary: works offline, nothing to install

    writer = None
    try:
        for frame in frames:
            frame = _rgb(frame, keep_alpha=False)
            h, w = frame.shape[:2]
            if h % 2 or w % 2:  # H.264 in yuv420p needs even sides: pad by one row/column of the edge
                frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            if writer is None:
                writer = imageio_ffmpeg.write_frames(
                    str(path), (frame.shape[1], frame.shape[0]), fps=settings.fps, codec="libx264",
                    pix_fmt_in="rgb24", pix_fmt_out="yuv420p", quality=None, macro_block_size=1,
                    ffmpeg_log_level="error",
                    # bitexact: no encoder version/time stamps, so the same frames give the same file
                    output_params=["-crf", "18", "-preset", "medium", "-fflags", "+bitexact",
                                   "-map_metadata", "-1", "-movflags", "+faststart"],
                )
                writer.send(None)  # start the encoder process
            writer.send(np.ascontiguousarray(frame))
    finally:
        if writer is not None:
            writer.close()


def export_walk(path: Path | str, generate: Generate, keyframes: Sequence, walk: WalkSettings = WalkSettings(),
                settings: AnimationSettings = AnimationSettings(), frames: int | None = None, psi: float = 1.0,
                progress: Progress = _noop_progress, should_cancel: ShouldCancel = _never, *,
                classes: np.ndarray | None = None, centre: np.ndarray | None = None) -> Path:
    """Render and encode a latent walk through `keyframes` (see latent.walk_latents): GIF, MP4 or
    WebP by extension. `frames` fixes the total length (e.g. seconds x fps); `psi` truncates every
    frame towards `centre` (the space's mean latent; None: zero, the centre of z). `classes`, for a
    generator with classes: class weights per keyframe (K, num_classes), walked on the same
    timeline in straight lines (the embedding lerp), and `generate` is then called as
    generate(latents, class_weights). Deterministic for the same keyframes and settings. Any thread
    that owns `generate`."""
    check_extension(path, ANIMATION_FORMATS, "animations")
    try:
        latents = truncate(walk_latents(keyframes, walk, frames), psi, centre)
        if classes is not None:
            if len(classes) != len(keyframes):
                raise ValueError(f"{len(keyframes)} keyframes need {len(keyframes)} class weights, got {len(classes)}")
            # lerp whatever the latents do: slerp would bend a blend of classes off the embeddings' line
            weights = walk_latents(classes, replace(walk, interpolation="lerp"), frames)
    except ValueError as e:
        raise UserError(str(e)) from None
    count = len(latents)

    def rendered():
        for i in range(0, count, RENDER_BATCH):
            if should_cancel():
                raise Cancelled()
            part = latents[i : i + RENDER_BATCH]
            yield from (generate(part) if classes is None else generate(part, weights[i : i + RENDER_BATCH]))

    return write_animation(path, rendered(), count, settings, progress, should_cancel)


# ----- training time-lapse ---------------------------------------------------------------------------
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def overlay_label(picture: np.ndarray, text: str) -> np.ndarray:
    """Draw `text` in the bottom-left corner on a dark translucent tag (readable on any image)."""
    rgb = _rgb(picture, keep_alpha=False) if picture.shape[2] != 3 else picture
    im = Image.fromarray(rgb).convert("RGBA")
    h = im.height
    font = _font(max(10, h // 22))
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    pad = max(3, h // 80)
    x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=font)
    box = (pad, h - pad - (y1 - y0) - 2 * pad, pad + (x1 - x0) + 2 * pad, h - pad)
    draw.rounded_rectangle(box, radius=pad, fill=(0, 0, 0, 160))
    draw.text((box[0] + pad - x0, box[1] + pad - y0), text, font=font, fill=(255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(im, layer).convert("RGB"))


def timelapse_frames(samples: Sequence[tuple[int, Path]], overlay: bool = False, scale: int = 1,
                     smooth: bool = False, hold_last: int = 0) -> tuple[Iterable[np.ndarray], int]:
    """Frames of a time-lapse over saved sample grids [(step, png path)], oldest first, each one
    enlarged by `scale` then labelled "step N" when `overlay`; the last grid is repeated `hold_last`
    more times so the final result stays on screen. Grids of another size (a resumed project with a
    different preview) are fitted to the first one's size. Returns (frames iterator, count)."""
    if not samples:
        raise UserError("This project has no saved sample grids yet; train it for a while first.")
    count = len(samples) + hold_last

    def frames():
        first_size = None
        last = None
        for step, path in samples:
            try:
                pic = load_png(path)
            except (OSError, ValueError) as e:
                raise UserError(f"Cannot read sample grid {path}: {e}.") from None
            pic = _rgb(pic, keep_alpha=False)
            if first_size is None:
                first_size = pic.shape[:2]
            elif pic.shape[:2] != first_size:
                pic = np.asarray(Image.fromarray(pic).resize((first_size[1], first_size[0]), Image.Resampling.LANCZOS))
            pic = upscale(pic, scale, smooth)
            if overlay:
                pic = overlay_label(pic, f"step {step:,}")
            last = pic
            yield pic
        for _ in range(hold_last):
            yield last

    return frames(), count


def export_timelapse(project, path: Path | str, fps: float = 8.0, overlay: bool = False, scale: int = 1,
                     smooth: bool = False, hold_last_s: float = 1.0, progress: Progress = _noop_progress,
                     should_cancel: ShouldCancel = _never) -> Path:
    """A time-lapse of a project's saved sample grids (`project.sample_steps()`), as GIF/MP4/WebP."""
    check_extension(path, ANIMATION_FORMATS, "animations")
    settings = AnimationSettings(fps=fps, scale=1)
    settings.validate()
    frames, count = timelapse_frames(project.sample_steps(), overlay, scale, smooth,
                                     hold_last=max(0, int(round(hold_last_s * fps))))
    return write_animation(path, frames, count, settings, progress, should_cancel)


# ----- ONNX --------------------------------------------------------------------------------------------
ONNX_TOLERANCE = 1e-4


def export_onnx(model, path: Path | str, verify: bool = True, space: str = "z") -> float:
    """Write `model`'s generator (a GeneratorModel) as one self-contained ONNX file with a dynamic
    batch axis (input "z" (batch, z_dim), output "image" (batch, C, H, W) in [-1, 1]). `space` "w"
    (models with a style space): input "ws" (batch, num_ws, w_dim) instead (see `onnx.py`). A
    generator with classes takes "class_weights" (batch, num_classes) beside z.

    With `verify`, the written file is loaded back with onnxruntime and run on batches of 1 and 5
    latents (with classes: different classes and a blend of two); if any output differs from
    PyTorch's by more than 1e-4 the file is removed and RuntimeError raised. Returns the largest
    difference seen (0.0 without verify)."""
    import torch

    from studio.engine.atomic import write_bytes_atomic
    from studio.engine.explore.onnx import INPUT_CLASS, INPUTS, generator_onnx_bytes, ort_session

    if space not in model.spaces:
        raise UserError(f"A {model.kind.title} generator has no style space W: export it with a z input.")
    path = check_extension(path, (".onnx",), "generators")
    _check_folder(path)
    cfg = model.cfg
    meta = {"size": cfg.size, "channels": cfg.channels, "step": model.step, "layout": "NCHW"}
    data = generator_onnx_bytes(model.G, model.z_dim, meta, space=space, class_names=model.class_names)
    _write(lambda: write_bytes_atomic(path, data), path)
    if not verify:
        return 0.0
    session = ort_session(path.read_bytes(), threads=1)
    worst = 0.0
    rng = np.random.default_rng(0)
    k = len(model.class_names)
    for batch in (1, 5):
        z = rng.standard_normal((batch, model.z_dim)).astype(np.float32)
        x = z if space == "z" else model.to_ws(z)
        if space == "w" and batch > 1:
            x = model.mix(x[::-1], x, "coarse")  # rows that differ: w+ must work, not only one w per image
        feed = {INPUTS[space]: np.ascontiguousarray(x)}
        c = None
        if k and space == "z":
            # every class in turn, the last row halfway between the first two: class input and blends both checked
            c = np.eye(k, dtype=np.float32)[(np.arange(batch) + 1) % k]
            if batch > 1:
                c[-1] = 0.5 * (np.eye(k, dtype=np.float32)[0] + np.eye(k, dtype=np.float32)[1 % k])
            feed[INPUT_CLASS] = c
        ours = session.run(None, feed)[0]
        with torch.inference_mode():
            t = torch.from_numpy(np.ascontiguousarray(x)).to(model.device)
            if space == "w":
                ref = model.G.synthesis(t).clamp(-1, 1)
            else:
                ref = model.G(t) if c is None else model.G(t, torch.from_numpy(c).to(model.device))
            ref = ref.float().cpu().numpy()
        if ours.shape != ref.shape:
            path.unlink(missing_ok=True)
            raise RuntimeError(f"ONNX output shape {ours.shape} != PyTorch {ref.shape}")
        worst = max(worst, float(np.abs(ours - ref).max()))
    if not math.isfinite(worst) or worst > ONNX_TOLERANCE:
        path.unlink(missing_ok=True)
        raise RuntimeError(f"the ONNX model differs from PyTorch by {worst:.2e} (> {ONNX_TOLERANCE})")
    return worst
