"""Translating images of any size with a trained translating generator (CycleGAN, pix2pix, ...).

The project's kind says which net translates and how to feed it (`ModelKind.translation`: the net,
its tensors' prefix, the multiple its sides must be, its memory per pixel, an upscale factor for
super-resolution models); everything below works for any such net.

* Any size and aspect ratio: the image is reflect-padded to what the generator needs (a multiple
  of its total downsampling, at least 16 px) and the result cropped back, so the output has the
  input's exact size (times the upscale factor of a super-resolution model).
* Large images are translated in overlapping tiles blended with raised-cosine weights. The
  generator uses InstanceNorm, whose statistics depend on the whole image: tiles normalised with
  their own statistics come out in slightly different colours and show seams. So the statistics
  are measured once on the whole image (on a downscaled copy when even that does not fit the
  memory budget) and every tile is normalised with them. Where the whole image fits, tiled and
  whole-image translation then differ only near tile borders, where the feathering hides the
  difference.
* Files and folders (recursively, mirroring the folder structure) keep their names and formats;
  files that fail to decode are reported and skipped.

A `Translator` owns its own generator copy; whoever creates it owns it (one thread at a time,
e.g. the studio's translation worker). Nothing here touches Qt.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from studio.engine.atomic import write_bytes_atomic
from studio.engine.config import config_from_dict
from studio.engine.data.dataset import DataConfig, ImageDecodeError, decode_image, scan_folder
from studio.engine.device import pick_device
from studio.engine.errors import Cancelled, CheckpointError, UserError
from studio.engine.images import from_uint8, to_pil, to_uint8
from studio.engine.models import KINDS, get_kind
from studio.engine.models.kind import ModelKind, Translation
from studio.engine.project.checkpoints import checkpoints_to_try, load_checkpoint
from studio.engine.project.folder import Project
from studio.engine.train.protocol import load_module

DEFAULT_MULTIPLE = 4  # a net's sides must be multiples of this unless it says otherwise (two stride-2 levels)
MIN_SIDE = 16  # smallest side fed to the generator (its reflection pads need a few pixels at 1/4 scale)
MIN_TILE = 32  # smallest tile side accepted
# Peak memory of one forward pass, in bytes per input pixel per channel of the first layer, for a net
# that does not say (fp32, no grad: a layer's input, its padded copy and its output are alive together).
BYTES_PER_PIXEL_PER_NGF = 20


# ----- InstanceNorm that can share whole-image statistics between tiles -------------------------
class SharedStatsNorm(nn.Module):
    """Drop-in for the generator's affine-free InstanceNorm2d with three modes:

    'own'    normalise each image with its own statistics (exactly InstanceNorm2d),
    'record' the same, and remember the per-channel mean and variance,
    'frozen' normalise with the remembered statistics (used for the tiles of a recorded image)."""

    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps
        self.mode = "own"
        self.mean: torch.Tensor | None = None
        self.var: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "own":
            return F.instance_norm(x, eps=self.eps)
        if self.mode == "record":
            self.var, self.mean = torch.var_mean(x, dim=(2, 3), unbiased=False, keepdim=True)
        return (x - self.mean) * torch.rsqrt(self.var + self.eps)


def share_norm_statistics(net: nn.Module) -> list[SharedStatsNorm]:
    """Replace every InstanceNorm2d of `net` (in place) by a SharedStatsNorm; returns them in order."""
    out = []
    for name, child in net.named_children():
        if isinstance(child, nn.InstanceNorm2d):
            if child.affine or child.track_running_stats:
                raise ValueError("only affine-free InstanceNorm without running statistics can be shared")
            new = SharedStatsNorm(child.eps)
            setattr(net, name, new)
            out.append(new)
        else:
            out += share_norm_statistics(child)
    return out


# ----- geometry helpers --------------------------------------------------------------------------
def pad_amounts(n: int, multiple: int = DEFAULT_MULTIPLE, minimum: int = MIN_SIDE) -> tuple[int, int]:
    """(before, after) padding that brings a side of n pixels to a multiple of `multiple`, at least `minimum`."""
    target = max(minimum, math.ceil(n / multiple) * multiple)
    extra = target - n
    return extra // 2, extra - extra // 2


def pad_image(x: torch.Tensor, multiple: int = DEFAULT_MULTIPLE) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Reflect-pad (B, C, H, W) to generator-friendly sizes; returns it and the pads (top, bottom, left, right)."""
    h, w = x.shape[-2:]
    (t, b), (left, r) = pad_amounts(h, multiple), pad_amounts(w, multiple)
    # Reflection needs the image to be larger than the pad; tiny images repeat their edge instead.
    mode = "reflect" if max(t, b) < h and max(left, r) < w else "replicate"
    if t or b or left or r:
        x = F.pad(x, (left, r, t, b), mode=mode)
    return x, (t, b, left, r)


def tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of `tile` px covering [0, n) with at least `overlap` px between neighbours."""
    if tile >= n:
        return [0]
    stride = tile - overlap
    starts = list(range(0, n - tile, stride))
    starts.append(n - tile)
    return starts


def feather(length: int, overlap: int, fade_start: bool, fade_end: bool, margin: int = 0) -> torch.Tensor:
    """1-D blending weights for a tile side that meets another tile: zero over the outer `margin` px
    (where the tile lacks context), then a raised-cosine ramp up to one over `overlap - 2 * margin` px.

    Two neighbours overlapping by exactly `overlap` px have their ramps on the same pixels, and the
    ramps sum to one there (sin^2 + cos^2): a seam is a smooth cross-fade between tile interiors."""
    w = torch.ones(length)
    ramp = overlap - 2 * margin
    if ramp > 0:
        i = torch.arange(ramp, dtype=torch.float32)
        up = torch.cat([torch.zeros(margin), 0.5 - 0.5 * torch.cos(math.pi * (i + 0.5) / ramp)])
        if fade_start:
            w[: len(up)] = up
        if fade_end:
            w[-len(up) :] = up.flip(0)
    return w


def match_channels(picture: np.ndarray, channels: int, background: int = 255) -> np.ndarray:
    """Convert an (H, W), (H, W, 1|2|3|4) uint8 picture to `channels` (1, 3 or 4) channels.

    Transparency is composited on `background` when the model has no alpha channel; an opaque alpha is
    added when it has one; colour to grey uses the ITU-R 601 luma weights (as Pillow's 'L')."""
    p = picture[:, :, None] if picture.ndim == 2 else picture
    c = p.shape[2]
    if c == channels:
        return p
    alpha = None
    if c in (2, 4):
        alpha, p = p[:, :, -1:], p[:, :, :-1]
    if channels == 4:
        rgb = np.repeat(p, 3, axis=2) if p.shape[2] == 1 else p
        a = alpha if alpha is not None else np.full(rgb.shape[:2] + (1,), 255, np.uint8)
        return np.concatenate([rgb, a], axis=2)
    if alpha is not None:
        a = alpha.astype(np.float32) / 255.0
        p = (p.astype(np.float32) * a + background * (1 - a)).round().astype(np.uint8)
    if channels == 3:
        return np.repeat(p, 3, axis=2) if p.shape[2] == 1 else p
    if p.shape[2] == 1:
        return p
    luma = p.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return luma.round().clip(0, 255).astype(np.uint8)[:, :, None]


def memory_budget_bytes(device: torch.device) -> int:
    """Memory one translation may use: half the free GPU memory, or a quarter of the available RAM (<= 4 GiB)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.5)
    if device.type == "mps":
        return 2 * 1024**3
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not Linux: assume a modest laptop
        avail = 8 * 1024**3
    return int(min(avail * 0.25, 4 * 1024**3))


# ----- the translator ----------------------------------------------------------------------------
def first_conv(net: nn.Module) -> nn.Conv2d:
    return next(m for m in net.modules() if isinstance(m, nn.Conv2d))


def kind_of_config(cfg) -> ModelKind:
    """The translating kind whose model config `cfg` is (a running training hands over its config)."""
    for kind in KINDS.values():
        if kind.capabilities.translates and isinstance(cfg, kind.config_cls):
            return kind
    raise UserError(f"{type(cfg).__name__} is not the config of a model that translates.")


class Translator:
    """One direction of a trained translating model, ready to translate pictures and files of any size.

    `multiple`, `channels`, `bytes_per_pixel` and `upscale` describe the net (`Translation`); left out,
    they are read off a plain conv net: sides of multiples of 4, its first convolution's input channels,
    20 bytes per pixel per channel of that convolution's output, no upscaling.
    `max_pixels` is the largest image translated in one piece (default: from the device's memory);
    larger images go in tiles of `tile` px (default: the largest square within max_pixels, <= 1024)
    overlapping by `overlap` px (default: a quarter of the tile; rounded down to a multiple of 4).
    In each overlap the outer `margin` fraction of a tile is ignored and the rest cross-faded."""

    def __init__(
        self,
        net: nn.Module,
        data_cfg: DataConfig | None = None,
        device: torch.device | str = "cpu",
        *,
        max_pixels: int | None = None,
        tile: int | None = None,
        overlap: int | None = None,
        margin: float = 0.25,
        direction: str = "a2b",
        step: int = 0,
        multiple: int = DEFAULT_MULTIPLE,
        channels: int | None = None,
        bytes_per_pixel: float | None = None,
        upscale: int = 1,
    ):
        self.device = torch.device(device)
        self.data_cfg = data_cfg or DataConfig()
        self.direction = direction
        self.step = step
        self.multiple = int(multiple)
        self.upscale = int(upscale)
        # eval(): dropout off, so the same picture always gives the same translation
        self.net = net.to(self.device).eval().requires_grad_(False)
        self.norms = share_norm_statistics(self.net)
        conv = first_conv(self.net)
        self.channels = channels or conv.in_channels
        if bytes_per_pixel is None:
            bytes_per_pixel = BYTES_PER_PIXEL_PER_NGF * conv.out_channels
        if max_pixels is None:
            max_pixels = int(memory_budget_bytes(self.device) // bytes_per_pixel)
        self.max_pixels = max(int(max_pixels), MIN_TILE * MIN_TILE, self.multiple**2)
        largest = max(self.multiple, min(max(1024, self.multiple), int(math.sqrt(self.max_pixels))))
        self.tile = self._check_tile(tile) if tile else largest // self.multiple * self.multiple
        self.overlap = overlap
        self.margin = margin

    @classmethod
    def from_translation(cls, spec: Translation, data_cfg: DataConfig | None = None,
                         device: torch.device | str = "cpu", **kwargs) -> Translator:
        """A translator of `spec.net` (its weights already loaded), fed as `spec` says."""
        return cls(spec.net, data_cfg, device, multiple=spec.multiple, channels=spec.channels,
                   bytes_per_pixel=spec.bytes_per_pixel, upscale=spec.upscale, **kwargs)

    def _check_tile(self, tile: int) -> int:
        smallest = max(MIN_TILE, self.multiple)
        if tile < smallest:
            raise UserError(f"Tile size must be at least {smallest} pixels for this model (got {tile}).")
        return tile // self.multiple * self.multiple

    # ----- loading -------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        project_dir: Path | str,
        direction: str = "a2b",
        device: str | torch.device = "auto",
        checkpoint: Path | str | None = None,
        **kwargs,
    ) -> Translator:
        """Load one direction's generator from a translating project's latest (or given) checkpoint.

        Raises UserError for a missing/non-translating/untrained project or a direction the model
        does not have, and CheckpointError for a damaged one."""
        project = Project.open(project_dir)
        kind = get_kind(project.kind)
        if not kind.capabilities.translates:
            titles = " or ".join(k.title for k in KINDS.values() if k.capabilities.translates)
            raise UserError(f"{project_dir} is a {kind.title} project; 'translate' needs a {titles} project.")
        # The direction is checked before the checkpoints: a wrong flag is told even before training.
        _translation_directions(kind, config_from_dict(kind.config_cls, project.meta.get("model")), direction)
        candidates = checkpoints_to_try(project, checkpoint)
        dev = device if isinstance(device, torch.device) else pick_device(device)
        data_cfg = config_from_dict(DataConfig, project.meta.get("data", {}).get("config"))
        last_error: CheckpointError | None = None
        for path in candidates:  # a damaged newest checkpoint falls back to the one before
            try:
                tensors, meta = load_checkpoint(path)
                if meta.get("kind") != project.kind:
                    raise CheckpointError(f"{Path(path).name} is not a {kind.title} checkpoint")
                cfg = config_from_dict(kind.config_cls, meta.get("config") or project.meta.get("model"))
                spec = _translation(kind, cfg, direction)
                load_module(spec.prefix, spec.net, tensors)
                return cls.from_translation(spec, data_cfg, dev, direction=direction,
                                            step=int(meta.get("step", 0)), **kwargs)
            except CheckpointError as e:
                last_error = e
        raise last_error

    @classmethod
    def from_state(cls, cfg, state: dict[str, torch.Tensor], data_cfg: DataConfig,
                   direction: str = "a2b", device: str | torch.device = "cpu", step: int = 0,
                   **kwargs) -> Translator:
        """One direction from a trainer's `generator_state()` (CPU copies): a running training's
        weights, as `load` builds it from a checkpoint. The tensors are copied into a net of its own,
        so the trainer's and the translator's weights are never shared."""
        spec = _translation(kind_of_config(cfg), cfg, direction)
        load_module(spec.prefix, spec.net, state)
        dev = device if isinstance(device, torch.device) else pick_device(device)
        return cls.from_translation(spec, data_cfg, dev, direction=direction, step=step, **kwargs)

    # ----- pictures ------------------------------------------------------------------------------
    @torch.inference_mode()
    def translate_array(
        self,
        picture: np.ndarray,
        tile: int | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> np.ndarray:
        """Translate one uint8 (H, W[, C]) picture; returns uint8 (H, W, model channels) of the same H and W
        (H and W times `upscale` for a super-resolution model).

        `tile` forces tiles of that size for pictures larger than it; otherwise tiles are used only
        above `max_pixels`. Raises Cancelled when `should_cancel()` turns True between tiles."""
        picture = match_channels(np.asarray(picture, dtype=np.uint8), self.channels, self.data_cfg.background)
        if self.upscale > 1:
            picture = enlarge(picture, self.upscale)
        h, w = picture.shape[:2]
        # np.array copies: decoded arrays may be read-only, which torch warns about
        x, (t, _b, left, _r) = pad_image(from_uint8(np.array(picture)).to(self.device), self.multiple)
        hp, wp = x.shape[-2:]
        tile = self._check_tile(tile) if tile else None
        if hp * wp <= self.max_pixels and (tile is None or max(hp, wp) <= tile):
            self._set_mode("own")
            y = self.net(x)
        else:
            y = self._tiled(x, tile or self.tile, should_cancel)
        return to_uint8(y[:, :, t : t + h, left : left + w])[0]

    def _set_mode(self, mode: str) -> None:
        for n in self.norms:
            n.mode = mode

    def _record_statistics(self, x: torch.Tensor) -> None:
        """Run the whole (padded) image once to record every norm layer's statistics; downscaled if too large."""
        hp, wp = x.shape[-2:]
        if hp * wp > self.max_pixels:
            s = math.sqrt(self.max_pixels / (hp * wp))
            m = self.multiple
            size = (max(MIN_SIDE, m, int(hp * s) // m * m), max(MIN_SIDE, m, int(wp * s) // m * m))
            # on the CPU: antialiased resizing is not available on every accelerator backend
            x = F.interpolate(x.cpu(), size=size, mode="bilinear", antialias=True, align_corners=False).to(x.device)
        self._set_mode("record")
        self.net(x)

    def _tiled(self, x: torch.Tensor, tile: int, should_cancel: Callable[[], bool] | None) -> torch.Tensor:
        self._record_statistics(x)
        self._set_mode("frozen")
        _, c, hp, wp = x.shape
        th, tw = min(tile, hp), min(tile, wp)
        overlap = self.overlap if self.overlap is not None else tile // 4
        # Tiles start on multiples of the net's total stride: shifted by anything else, a strided
        # network samples a different pixel grid and the tile would not match its neighbours.
        overlap = min(overlap, th // 2, tw // 2) // self.multiple * self.multiple
        if overlap == 0 and min(th, tw) >= 2 * self.multiple:  # a deep net's stride: overlap by one step at least
            overlap = self.multiple
        margin = int(overlap * self.margin)
        ys, xs = tile_starts(hp, th, overlap), tile_starts(wp, tw, overlap)
        out = torch.zeros(1, c, hp, wp, device=x.device)
        weight = torch.zeros(1, 1, hp, wp, device=x.device)
        for y0 in ys:
            wy = feather(th, overlap, y0 > 0, y0 + th < hp, margin).to(x.device)
            for x0 in xs:
                if should_cancel is not None and should_cancel():
                    raise Cancelled()
                wx = feather(tw, overlap, x0 > 0, x0 + tw < wp, margin).to(x.device)
                wgt = wy[:, None] * wx[None, :]
                piece = self.net(x[:, :, y0 : y0 + th, x0 : x0 + tw])
                out[:, :, y0 : y0 + th, x0 : x0 + tw] += piece * wgt
                weight[:, :, y0 : y0 + th, x0 : x0 + tw] += wgt
        self._set_mode("own")
        return out / weight.clamp_min(1e-8)

    # ----- files ---------------------------------------------------------------------------------
    def translate_file(self, src: Path | str, dst: Path | str, tile: int | None = None,
                       should_cancel: Callable[[], bool] | None = None) -> None:
        """Decode `src` at full resolution with the project's settings, translate, write `dst` in the format
        its extension names. Raises ImageDecodeError (bad input), OSError (cannot write), Cancelled."""
        picture = decode_image(src, self.data_cfg, full_resolution=True)
        result = self.translate_array(picture, tile=tile, should_cancel=should_cancel)
        write_bytes_atomic(dst, encode_like(result, Path(dst).suffix, self.data_cfg.background))

    def translate_files(
        self,
        inputs: Sequence[Path | str],
        out_dir: Path | str,
        *,
        tile: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> TranslateResult:
        """Translate image files and folders (recursively) into `out_dir`, keeping names and formats.

        A folder's images land under `out_dir` at their path relative to that folder; a file lands in
        `out_dir` itself. `progress(done, total)` is called after each file and `should_cancel()` is
        checked between files and tiles, on the calling thread. Raises UserError for missing inputs or
        an output that would overwrite an input; undecodable files are skipped and listed in the result."""
        jobs = plan_outputs(inputs, out_dir)
        result = TranslateResult(total=len(jobs))
        if progress is not None:
            progress(0, len(jobs))
        for done, (src, dst, problem) in enumerate(jobs, start=1):
            if should_cancel is not None and should_cancel():
                result.cancelled = True
                break
            if problem:
                result.failed.append((src, problem))
            else:
                try:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    self.translate_file(src, dst, tile=tile, should_cancel=should_cancel)
                    result.written.append(dst)
                except ImageDecodeError as e:
                    result.failed.append((src, str(e)))
                except Cancelled:
                    result.cancelled = True
                    break
                except OSError as e:
                    result.failed.append((src, f"cannot write {dst}: {e.strerror or e}"))
            if progress is not None:
                progress(done, len(jobs))
        return result


def _translation_directions(kind: ModelKind, cfg, direction: str) -> None:
    directions = kind.directions(cfg)
    if direction not in directions:
        if len(directions) == 1:
            raise UserError(f"A {kind.title} model translates one way only ({directions[0]}), not {direction}.")
        raise UserError(f"Direction must be {' or '.join(directions)} (got {direction}).")


def _translation(kind: ModelKind, cfg, direction: str) -> Translation:
    _translation_directions(kind, cfg, direction)
    return kind.translation(cfg, direction)


def enlarge(picture: np.ndarray, factor: int) -> np.ndarray:
    """uint8 (H, W, C) enlarged `factor` times with bicubic filtering: the input a super-resolution
    model refines (it learned from pictures shrunk and enlarged back the same way)."""
    h, w, c = picture.shape
    planes = [np.asarray(Image.fromarray(np.ascontiguousarray(picture[..., i]), mode="L")
                         .resize((w * factor, h * factor), Image.Resampling.BICUBIC)) for i in range(c)]
    return np.stack(planes, axis=2)


@dataclass
class TranslateResult:
    """What translate_files did. Plain data: any thread."""

    total: int = 0  # files found in the inputs
    written: list[Path] = field(default_factory=list)  # output files written
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (input file, reason) skipped
    cancelled: bool = False  # stopped early by should_cancel()


def plan_outputs(inputs: Sequence[Path | str], out_dir: Path | str) -> list[tuple[Path, Path, str | None]]:
    """(source, destination, problem or None) for every image file of `inputs`. Any thread.

    Raises UserError for an input that does not exist, and when the output folder is an input folder or
    a destination would replace its own source (translating would destroy the originals)."""
    # Absolute as scan_folder makes them: a relative folder and the absolute files found in it cannot be compared
    out_dir = Path(os.path.abspath(Path(out_dir).expanduser()))
    out_real = out_dir.resolve()
    jobs: list[tuple[Path, Path, str | None]] = []
    taken: dict[Path, Path] = {}
    for item in inputs:
        p = Path(os.path.abspath(Path(item).expanduser()))
        if not p.exists():
            raise UserError(f"Input not found: {p}.")
        if p.is_dir():
            if p.resolve() == out_real:
                raise UserError(f"The output folder {out_dir} is the input folder itself; choose another folder "
                                "for the results.")
            # Earlier results inside the input folder are not inputs (running twice would translate them).
            files = [f for f in scan_folder(p) if not f.resolve().is_relative_to(out_real)]
            pairs = [(f, out_dir / f.relative_to(p)) for f in files]
        else:
            pairs = [(p, out_dir / p.name)]
        for src, dst in pairs:
            if dst.resolve() == src.resolve():
                raise UserError(f"Translating {src} would overwrite it; choose another output folder.")
            key = dst.resolve()
            if key in taken:
                jobs.append((src, dst, f"same output name as {taken[key]}"))
            else:
                taken[key] = src
                jobs.append((src, dst, None))
    return jobs


def encode_like(picture: np.ndarray, suffix: str, background: int = 255) -> bytes:
    """Encode a uint8 (H, W, C) picture in the format that the file extension `suffix` names (PNG if unknown).

    Formats without transparency (JPEG, BMP) get the alpha composited on `background`."""
    import io

    fmt = Image.registered_extensions().get(suffix.lower(), "PNG")
    if fmt in ("JPEG", "BMP") and picture.shape[2] == 4:
        picture = match_channels(picture, 3, background)
    im = to_pil(picture)
    options = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}, "PNG": {"compress_level": 6}}.get(fmt, {})
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()
