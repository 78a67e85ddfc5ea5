"""Projection: find the latent whose picture is closest to a real image, so a photo can be edited
with the explorer's tools (pad, arithmetic, direction sliders).

    model = load_generator(project_dir)
    target = load_target(project_dir, "photo.jpg")            # uint8 (H, W, C) at the model's size
    result = project(model, target, ProjectionSettings(steps=300), progress, should_cancel)
    result.latent, result.picture, result.difference, result.error

Kinds with a latent space optimise z; kinds with a style space (a mapping to W, see
`Capabilities.style_space`) optimise one w, then a w per layer (w+), as StyleGAN2's projector does
(Karras et al. 2020, appendix D; NVlabs stylegan2-ada-pytorch projector.py): start from the mapping's
running average `w_avg`, Adam with a learning rate that ramps up over the first 5% of the steps and
down along a half cosine over the last 25%, and Gaussian noise on the latent, scaled to the spread
of W and decaying to zero over the first 75%, so the early steps look around before settling.

The loss needs no downloaded weights (the reference uses VGG16 features): mean squared pixel error
plus a Laplacian-pyramid L1 (Bojanowski et al. 2018), which weighs every scale alike, so coarse
layout and fine edges both count and the result is less blurry than pixels alone give.

Differences from the reference, on purpose: the per-layer noise inputs are not optimised (the
gallery stores a latent, and the explorer renders with each layer's fixed noise, so a projection
must reproduce its picture from the latent alone); and z kinds try several random starts at once
(a DCGAN has no meaningful average latent: z = 0 draws a blank, average face) and keep the best.

Plain torch, no Qt; runs on the calling thread (a worker thread in the studio). The generator is
used, not changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from studio.engine.errors import Cancelled, UserError
from studio.engine.images import from_uint8, to_uint8

SPACES = ("z", "w", "w+")
ProgressFn = Callable[[int, int, str], None]  # (done, total, what is happening)
FrameFn = Callable[[int, np.ndarray], None]  # (step, uint8 picture of the current best latent)


@dataclass(frozen=True)
class ProjectionSettings:
    """How a projection searches. The defaults follow the StyleGAN2 projector's schedule."""

    steps: int = 300  # optimisation steps (the reference takes 1000 at 1024 px; small models settle sooner)
    space: str = "auto"  # z | w | w+; auto: w+ where the kind has a style space, else z
    lr: float = 0.1  # peak Adam learning rate
    lr_rampup: float = 0.05  # share of the steps over which the learning rate rises from 0
    lr_rampdown: float = 0.25  # share of the steps at the end over which it falls back to 0 (half cosine)
    noise_factor: float = 0.05  # latent noise at the start, relative to the spread of the latent space
    noise_ramp: float = 0.75  # share of the steps after which the latent noise has faded to 0
    # w+: share of the steps spent on one w for every layer before each layer gets its own. 0.25, not
    # half: on 16 held-out faces (bench/projection_quality.py --w-share, 300 steps, a 7-minute 32 px
    # style model) 0.5 gave 15.9 levels RMS (attributes 94%), 0.25 15.2 (96%), 0 15.1 (94%); a
    # quarter in w keeps the start in the well-trained part of W at no cost in error.
    w_share: float = 0.25
    starts: int = 4  # latents optimised side by side; the best is kept (style space: the first is w_avg)
    candidates: int = 64  # random latents scored before the search; the best `starts` are optimised
    pixel_weight: float = 1.0  # mean squared error of the pixels in [-1, 1]
    pyramid_weight: float = 1.0  # Laplacian-pyramid L1, every scale weighted alike
    w_avg_samples: int = 2000  # latents mapped to measure the spread of W (the reference maps 10,000)
    seed: int = 0  # same seed, same starts, same result

    def validate(self) -> None:
        if self.space not in SPACES + ("auto",):
            raise UserError(f"Unknown latent space '{self.space}' (choose z, w or w+).")
        if not 1 <= self.steps <= 100_000:
            raise UserError(f"Steps must be between 1 and 100,000, not {self.steps}.")
        if self.starts < 1 or self.candidates < self.starts:
            raise UserError("A projection needs at least one start, and as many candidates as starts.")
        if not 0 <= self.w_share <= 1:
            raise UserError("The share of steps in W must be between 0 and 1.")


@dataclass
class Projection:
    """What a projection found. Pictures are uint8 (H, W, C) at the model's size."""

    target: np.ndarray
    picture: np.ndarray  # the projected latent's picture, as the explorer renders it
    latent: np.ndarray  # float32: (z_dim,) in z, (w_dim,) in w, (num_ws, w_dim) in w+
    space: str  # z | w | w+
    error: float  # RMS difference between picture and target, in 0-255 levels
    steps: int  # steps run
    losses: list[float] = field(default_factory=list)  # the best start's loss after each step
    num_ws: int = 0  # styles the synthesis takes (style space), 0 in z

    @property
    def difference(self) -> np.ndarray:
        return difference_picture(self.target, self.picture)


def difference_picture(a: np.ndarray, b: np.ndarray, gain: float = 4.0) -> np.ndarray:
    """|a - b| per pixel as grey levels, magnified `gain` times: small errors are faint otherwise.
    uint8 (H, W, C) in, uint8 (H, W, 3) out (black where the two agree)."""
    d = np.abs(a.astype(np.float32) - b.astype(np.float32)).mean(axis=-1)
    grey = np.clip(d * gain, 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def rms_error(a: np.ndarray, b: np.ndarray) -> float:
    """Root mean square difference of two uint8 pictures, in 0-255 levels."""
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


# ----- the loss ------------------------------------------------------------------------------------------
_BLUR = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16  # binomial approximation of a Gaussian


def _blur_down(x: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    k = (_BLUR[:, None] * _BLUR[None, :]).to(x)[None, None].expand(c, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=c)[:, :, ::2, ::2]


def laplacian_pyramid(x: torch.Tensor, smallest: int = 4) -> list[torch.Tensor]:
    """Band-pass levels of (B, C, H, W), finest first, then the low-pass rest at `smallest` px or above."""
    levels = []
    while x.shape[-1] > smallest and x.shape[-1] >= 8:
        down = _blur_down(x)
        levels.append(x - F.interpolate(down, size=x.shape[-2:], mode="bilinear", align_corners=False))
        x = down
    levels.append(x)
    return levels


def projection_loss(images: torch.Tensor, target: torch.Tensor, pixel_weight: float = 1.0,
                    pyramid_weight: float = 1.0) -> torch.Tensor:
    """Per-image loss (B,) of images against one target (1, C, H, W), both in [-1, 1]."""
    loss = pixel_weight * (images - target).square().flatten(1).mean(1)
    if pyramid_weight:
        for a, b in zip(laplacian_pyramid(images), laplacian_pyramid(target)):
            loss = loss + pyramid_weight * (a - b).abs().flatten(1).mean(1)
    return loss


# ----- latent spaces -------------------------------------------------------------------------------------
class _Space:
    """How latents of one space become pictures; `latent` is the optimised tensor, `extra` the
    per-layer offsets of w+ (None otherwise)."""

    name: str

    def render(self, latent: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def result(self, latent: torch.Tensor, extra: torch.Tensor | None) -> torch.Tensor:
        return latent


class _ZSpace(_Space):
    name = "z"

    def __init__(self, G, z_dim: int):
        self.G, self.z_dim, self.std = G, z_dim, 1.0  # the prior is N(0, I)

    def candidates(self, n: int, gen: torch.Generator, device) -> torch.Tensor:
        return torch.randn(n, self.z_dim, generator=gen).to(device)

    def render(self, latent, extra):
        return self.G(latent)


class _WSpace(_Space):
    def __init__(self, G, per_layer: bool, samples: int, gen: torch.Generator, device):
        self.G, self.per_layer = G, per_layer
        self.name = "w+" if per_layer else "w"
        z = torch.randn(samples, G.mapping.z_dim, generator=gen).to(device)
        with torch.no_grad():
            w = G.mapping(z)[:, 0]  # (N, w_dim)
        self.w_avg = G.mapping.w_avg.detach().clone()
        # the spread of W around its average (one number, as the reference): scales the latent noise
        self.std = float(((w - self.w_avg).square().sum(1).mean()) ** 0.5)
        self._mapped = w

    def candidates(self, n: int, gen: torch.Generator, device) -> torch.Tensor:
        # the average first, then mapped random latents: the reference starts from w_avg alone
        pick = torch.randperm(len(self._mapped), generator=gen)[: n - 1].to(device)
        return torch.cat([self.w_avg[None], self._mapped[pick]])

    def render(self, latent, extra):
        ws = latent[:, None, :].expand(-1, self.G.num_ws, -1)
        if extra is not None:
            ws = ws + extra
        return self.G.synthesis(ws)

    def result(self, latent, extra):
        if not self.per_layer:
            return latent
        return latent[:, None, :] + extra  # (B, num_ws, w_dim)


def space_for(kind, requested: str = "auto") -> str:
    """The space a projection works in for `kind` (a ModelKind with a latent space)."""
    style = kind.capabilities.style_space
    if requested == "auto":
        return "w+" if style else "z"
    if requested in ("w", "w+") and not style:
        raise UserError(f"A {kind.title} model has no style space: it projects into z only.")
    return requested


def render_latent(model, latent: np.ndarray, space: str) -> np.ndarray:
    """uint8 picture (H, W, C) of a projected latent, as the explorer draws it (fixed layer noise,
    clamped to [-1, 1]). `model` is a GeneratorModel."""
    if space == "z":
        return model.generate(latent)[0]
    return model.generate_w(np.asarray(latent, dtype=np.float32)[None])[0]  # (1, w_dim) or (1, num_ws, w_dim)


def explorer_latent(projection: Projection) -> np.ndarray:
    """The projected latent as the explorer's flat vector: z as it is, w or w+ as ws rows flattened
    (num_ws * w_dim,), the form the explorer's W latents take (see `style_space`)."""
    v = np.asarray(projection.latent, dtype=np.float32)
    if projection.space == "w":
        v = np.repeat(v[None], projection.num_ws, axis=0)
    return v.reshape(-1)


# ----- the search ----------------------------------------------------------------------------------------
def _learning_rate(s: ProjectionSettings, t: float) -> float:
    ramp = min(1.0, (1.0 - t) / s.lr_rampdown) if s.lr_rampdown > 0 else 1.0
    ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
    if s.lr_rampup > 0:
        ramp *= min(1.0, t / s.lr_rampup)
    return s.lr * ramp


def project(model, target: np.ndarray, settings: ProjectionSettings = ProjectionSettings(),
            progress: ProgressFn | None = None, should_cancel: Callable[[], bool] | None = None,
            frame: FrameFn | None = None, frame_every: int = 0,
            feature_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> Projection:
    """Search `model`'s latent space (a GeneratorModel) for `target` (uint8 (H, W, C) at its size).

    `progress(done, total, text)` is called after every step and `should_cancel()` before it
    (Cancelled is raised when it says so). `frame(step, picture)` receives the best start's picture
    every `frame_every` steps (0: never), for a video of the search. `feature_loss(images, target)`,
    a per-image loss (B,), is added to the pixel and pyramid terms (bench/projection_quality.py
    --d-features tries the project's discriminator features there). Deterministic for a seed on a
    given device."""
    settings.validate()
    space_name = space_for(model.kind, settings.space)
    size = model.cfg.size
    channels = getattr(model.cfg, "channels", 3)
    if target.shape != (size, size, channels):
        raise UserError(f"The image is {target.shape[1]}x{target.shape[0]} with {target.shape[2]} channel(s); "
                        f"this model needs {size}x{size} with {channels}.")
    device = model.device
    gen = torch.Generator().manual_seed(int(settings.seed))
    G = model.G
    space = (_ZSpace(G, model.z_dim) if space_name == "z"
             else _WSpace(G, space_name == "w+", settings.w_avg_samples, gen, device))
    goal = from_uint8(np.array(target)).to(device)  # (1, C, H, W) in [-1, 1]; a copy: decoded arrays are read-only

    def loss_of(latent, extra=None):
        images = space.render(latent, extra)
        loss = projection_loss(images, goal, settings.pixel_weight, settings.pyramid_weight)
        return loss if feature_loss is None else loss + feature_loss(images, goal)

    # Score the candidates once and keep the best few as starts.
    with torch.no_grad():
        pool = space.candidates(settings.candidates, gen, device)
        scores = torch.cat([loss_of(c) for c in pool.split(32)])
    keep = scores.argsort()[: settings.starts]
    if space_name != "z":  # the reference's start, w_avg, is always among them
        keep = torch.cat([torch.zeros(1, dtype=keep.dtype, device=keep.device), keep[keep != 0]])[: settings.starts]
    latent = pool[keep].clone().requires_grad_(True)
    extra = None
    optimiser = torch.optim.Adam([latent], betas=(0.9, 0.999), lr=settings.lr)
    per_layer_from = (round(settings.steps * settings.w_share) if space_name == "w+" else None)

    losses: list[float] = []
    best = 0
    total = settings.steps
    for step in range(total):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        if per_layer_from is not None and step == per_layer_from:
            # w+: from here on each layer may leave the shared w by its own offset
            extra = torch.zeros(latent.shape[0], G.num_ws, latent.shape[1], device=device, requires_grad=True)
            optimiser.add_param_group({"params": [extra]})
        t = step / total
        lr = _learning_rate(settings, t)
        for group in optimiser.param_groups:
            group["lr"] = lr
        noise_scale = space.std * settings.noise_factor * max(0.0, 1.0 - t / settings.noise_ramp) ** 2
        noisy = latent + torch.randn(latent.shape, generator=gen).to(device) * noise_scale
        per_start = loss_of(noisy, extra)
        optimiser.zero_grad(set_to_none=True)
        per_start.sum().backward()  # starts are independent: each gets its own gradient
        optimiser.step()
        scores = per_start.detach()
        best = int(scores.argmin())
        losses.append(float(scores[best]))
        if frame is not None and frame_every and (step % frame_every == 0 or step == total - 1):
            with torch.no_grad():
                frame(step, to_uint8(space.render(latent[best : best + 1], None if extra is None
                                                  else extra[best : best + 1]).clamp(-1, 1))[0])
        if progress is not None:
            progress(step + 1, total, f"Step {step + 1:,} of {total:,}: loss {losses[-1]:.4f}")

    # The final pick is made without noise, on the pictures the explorer will draw.
    with torch.no_grad():
        final = loss_of(latent, extra)
        best = int(final.argmin())
        found = space.result(latent, extra)[best].detach().cpu().numpy().astype(np.float32)
    picture = render_latent(model, found, space_name)
    return Projection(target=np.ascontiguousarray(target), picture=picture, latent=found, space=space_name,
                      error=rms_error(picture, target), steps=total, losses=losses,
                      num_ws=0 if space_name == "z" else int(G.num_ws))


# ----- targets from files ----------------------------------------------------------------------------------
def load_target(project_dir: Path | str, source, size: int | None = None) -> np.ndarray:
    """An image file (path or bytes) decoded the way the project's training images were (fit, colour,
    transparency) at the model's size: uint8 (size, size, C). UserError with the reason if unusable."""
    from studio.engine.data.dataset import DataConfig, decode_image
    from studio.engine.data.decode import ImageDecodeError
    from studio.engine.project.folder import Project

    project = Project.open(project_dir, clean=False)
    data = dict((project.meta.get("data") or {}).get("config") or {})
    model = project.meta.get("model") or {}
    size = size or model.get("size") or data.get("size") or 64
    cfg = DataConfig(**{**data, "size": int(size)})
    try:
        return decode_image(source, cfg)
    except ImageDecodeError as e:
        name = Path(source).name if isinstance(source, (str, Path)) else "The image"
        raise UserError(f"{name} cannot be used: {e.reason}.") from None


# ----- writing results -------------------------------------------------------------------------------------
def latent_record(projection: Projection, **about) -> dict:
    """The latent and what it came from, as JSON-ready data. Numbers keep 9 significant digits,
    which gives float32 back exactly: the latent renders the very same picture when read back."""
    values = np.asarray(projection.latent, dtype=np.float32)
    nested = np.vectorize(lambda x: float(f"{x:.9g}"), otypes=[object])(values).tolist()
    return {"format": 1, "space": projection.space, "shape": list(values.shape), "latent": nested,
            "error_levels": round(projection.error, 3), "steps": projection.steps, **about}


def save_projection(projection: Projection, out_dir: Path | str, stem: str, **about) -> dict[str, Path]:
    """Write STEM-projected.png, -target.png, -difference.png, and the latent as STEM-latent.json and
    STEM-latent.safetensors (tensor "latent"; the JSON's fields as metadata) into `out_dir`, each
    atomically. `about` (e.g. project, step, image) goes into both latent files. Returns the paths."""
    import json

    from safetensors.torch import save as st_save

    from studio.engine.atomic import write_bytes_atomic, write_text_atomic
    from studio.engine.images import png_bytes

    out = Path(out_dir)
    paths = {what: out / f"{stem}-{what}.png" for what in ("projected", "target", "difference")}
    pictures = {"projected": projection.picture, "target": projection.target, "difference": projection.difference}
    record = latent_record(projection, **about)
    paths["json"] = out / f"{stem}-latent.json"
    paths["safetensors"] = out / f"{stem}-latent.safetensors"
    meta = {k: v if isinstance(v, str) else json.dumps(v) for k, v in record.items() if k != "latent"}
    try:
        out.mkdir(parents=True, exist_ok=True)
        for what, picture in pictures.items():
            write_bytes_atomic(paths[what], png_bytes(picture))
        write_text_atomic(paths["json"], json.dumps(record) + "\n")
        tensor = torch.from_numpy(np.ascontiguousarray(projection.latent, dtype=np.float32))
        write_bytes_atomic(paths["safetensors"], st_save({"latent": tensor}, metadata=meta))
    except OSError as e:
        raise UserError(f"Cannot write the projection to {out}: {e.strerror or e}.") from None
    return paths


def read_latent(path: Path | str) -> tuple[np.ndarray, str]:
    """A latent written by `save_projection` (.json or .safetensors) -> (float32 array, space)."""
    import json

    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="np") as f:
                return f.get_tensor("latent").astype(np.float32), str(f.metadata().get("space", "z"))
        data = json.loads(path.read_text(encoding="utf-8"))
        return np.asarray(data["latent"], dtype=np.float32), str(data.get("space", "z"))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path.name} holds no readable latent ({e.__class__.__name__}).") from None
