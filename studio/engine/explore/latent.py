"""Latent-space maths for exploring a DCGAN: interpolation, the 2D pad, arithmetic, directions.

Everything here is plain numpy on float32 latent vectors of shape (z_dim,) or batches (N, z_dim);
no torch, no Qt, no state, so any thread may call any function and the results are exactly
reproducible (the same keyframes give the same frames, bit for bit).

A DCGAN draws z from N(0, I): the mean latent is the zero vector, and typical latents live near the
sphere of radius sqrt(z_dim). That is why spherical interpolation (slerp) keeps in-between images as
"typical" as the endpoints, while a straight line (lerp) passes closer to the origin, where images
are blander; and why truncation is a plain scaling towards zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

EASINGS = ("linear", "smooth", "ease-in", "ease-out", "sine")
INTERPOLATIONS = ("lerp", "slerp")


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


# ----- interpolation ---------------------------------------------------------------------------------
def lerp(a, b, t) -> np.ndarray:
    """Straight-line blend a + t (b - a); `t` may be a scalar or an array broadcasting against the
    batch (e.g. shape (N, 1)). Exactly `a` at t = 0 and exactly `b` at t = 1."""
    a, b = _f32(a), _f32(b)
    t = np.asarray(t, dtype=np.float32)
    out = a * (1 - t) + b * t
    # a*(1-1) + b*1 is b exactly, and a*1 + b*0 is a exactly, so the endpoints need no special case.
    return out.astype(np.float32, copy=False)


def slerp(a, b, t) -> np.ndarray:
    """Spherical blend along the great circle from `a` to `b`, interpolating the length linearly
    (so two latents of different norms still blend smoothly). Exactly `a` at t = 0 and `b` at t = 1;
    falls back to lerp where the two are (anti-)parallel or one is zero."""
    a, b = _f32(a), _f32(b)
    t = np.asarray(t, dtype=np.float64)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    na = np.linalg.norm(a64, axis=-1, keepdims=True)
    nb = np.linalg.norm(b64, axis=-1, keepdims=True)
    ua = a64 / np.where(na > 0, na, 1)
    ub = b64 / np.where(nb > 0, nb, 1)
    cos = np.clip(np.sum(ua * ub, axis=-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(cos)
    so = np.sin(omega)
    degenerate = (so < 1e-6) | (na == 0) | (nb == 0)
    safe = np.where(degenerate, 1.0, so)
    wa = np.where(degenerate, 1 - t, np.sin((1 - t) * omega) / safe)
    wb = np.where(degenerate, t, np.sin(t * omega) / safe)
    direction = wa * ua + wb * ub
    length = na * (1 - t) + nb * t
    out = np.where(degenerate, a64 * (1 - t) + b64 * t, direction * length).astype(np.float32)
    # Exact endpoints: the sine formula is only exact up to rounding, and the pad promises that a
    # corner renders precisely the corner's image.
    out = np.where(t == 0, a, out)
    out = np.where(t == 1, b, out)
    return out.astype(np.float32, copy=False)


def interpolate(a, b, t, mode: str = "lerp") -> np.ndarray:
    """lerp or slerp by name."""
    if mode == "lerp":
        return lerp(a, b, t)
    if mode == "slerp":
        return slerp(a, b, t)
    raise ValueError(f"unknown interpolation '{mode}' (choose {', '.join(INTERPOLATIONS)})")


def ease(t, kind: str = "linear") -> np.ndarray:
    """Map progress t in [0, 1] through an easing curve; every curve keeps 0 -> 0 and 1 -> 1.

    linear: constant speed; smooth: smoothstep (slow in and out, the default for walks with holds);
    ease-in / ease-out: quadratic acceleration / deceleration; sine: half a cosine wave."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    if kind == "linear":
        out = t
    elif kind == "smooth":
        out = t * t * (3 - 2 * t)
    elif kind == "ease-in":
        out = t * t
    elif kind == "ease-out":
        out = 1 - (1 - t) ** 2
    elif kind == "sine":
        out = 0.5 - 0.5 * np.cos(np.pi * t)
    else:
        raise ValueError(f"unknown easing '{kind}' (choose {', '.join(EASINGS)})")
    return out


# ----- the 2D pad ------------------------------------------------------------------------------------
def bilinear(corners, u, v, spherical: bool = False) -> np.ndarray:
    """Blend four corner latents at pad position (u, v) in [0, 1]^2.

    `corners` is (4, z_dim) in the order top-left, top-right, bottom-left, bottom-right; u runs left
    to right and v top to bottom (screen order). Bilinear: lerp along the top and bottom edges by u,
    then between them by v (StyleGAN3's latent widget blends its four seeds the same way). With
    `spherical`, each of the three blends is a slerp instead. `u`, `v` may be arrays of the same shape
    (..., ) for a batch; the result is (..., z_dim). Exactly a corner's latent at that corner."""
    c = _f32(corners)
    if c.ndim != 2 or c.shape[0] != 4:
        raise ValueError(f"corners must be (4, z_dim), got {c.shape}")
    u = np.clip(np.asarray(u, dtype=np.float32), 0, 1)[..., None]
    v = np.clip(np.asarray(v, dtype=np.float32), 0, 1)[..., None]
    mix = slerp if spherical else lerp
    top = mix(c[0], c[1], u)
    bottom = mix(c[2], c[3], u)
    return mix(top, bottom, v)


def pad_grid_positions(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) arrays of shape (n, n) covering the pad corner to corner, row-major (v down the rows)."""
    if n < 2:
        raise ValueError("a pad grid needs at least 2 x 2 cells")
    s = np.linspace(0.0, 1.0, n, dtype=np.float32)
    v, u = np.meshgrid(s, s, indexing="ij")
    return u, v


def plane(center, d1, d2, a, b) -> np.ndarray:
    """The plane through `center` spanned by directions d1 and d2: center + a*d1 + b*d2.

    `a`, `b` are scalars or equally shaped arrays (..., ) giving (..., z_dim)."""
    center, d1, d2 = _f32(center), _f32(d1), _f32(d2)
    a = np.asarray(a, dtype=np.float32)[..., None]
    b = np.asarray(b, dtype=np.float32)[..., None]
    return (center + a * d1 + b * d2).astype(np.float32, copy=False)


def pad_to_plane(u, v, span: float) -> tuple[np.ndarray, np.ndarray]:
    """Pad position (u right, v down, both in [0, 1]) -> plane amounts (a, b) in [-span, span], with
    the centre of the pad at the plane's origin (the current latent) and b growing upwards."""
    u = np.asarray(u, dtype=np.float32)
    v = np.asarray(v, dtype=np.float32)
    return (2 * u - 1) * span, (1 - 2 * v) * span


def truncate(z, psi: float, mean=None) -> np.ndarray:
    """Truncation ("temperature"): pull latents toward the mean latent, mean + psi (z - mean).

    psi = 1 leaves z unchanged (exactly), psi < 1 gives more typical, less varied images, psi > 1
    more extreme ones. For a DCGAN's N(0, I) prior the mean latent is zero (the default)."""
    z = _f32(z)
    if psi == 1.0:
        return z
    m = np.zeros_like(z) if mean is None else _f32(mean)
    return (m + np.float32(psi) * (z - m)).astype(np.float32, copy=False)


# ----- arithmetic --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Slot:
    """One term of a latent sum: exemplars averaged, then added (+1) or subtracted (-1)."""

    sign: int  # +1 or -1
    latents: tuple  # exemplar latents (each (z_dim,)); averaging several makes the concept robust


def mean_latent(latents: Sequence) -> np.ndarray:
    """Average of exemplar latents (the DCGAN paper averages three per concept: single latents
    carry too much of their own identity for arithmetic to read well)."""
    arr = _f32(np.stack([_f32(z) for z in latents]))
    return arr.mean(axis=0, dtype=np.float64).astype(np.float32)


def combine(slots: Sequence[Slot]) -> np.ndarray:
    """sum(sign * mean(slot)) over the non-empty slots, e.g. mean(A) - mean(B) + mean(C).

    Raises ValueError when no slot holds an exemplar."""
    total = None
    for slot in slots:
        if slot.sign not in (1, -1):
            raise ValueError("a slot's sign must be +1 or -1")
        if not slot.latents:
            continue
        term = mean_latent(slot.latents).astype(np.float64) * slot.sign
        total = term if total is None else total + term
    if total is None:
        raise ValueError("every slot is empty")
    return total.astype(np.float32)


def combine_classes(slots: Sequence[tuple[int, Sequence]]) -> np.ndarray:
    """Class weights of an arithmetic result across classes: the slots' (sign, class weights of each
    exemplar) combined as their latents are (sign * mean), then negative shares cut to 0 and the
    rest scaled to sum to 1. "open-winged moth - moth + butterfly": moth - moth + butterfly is the
    butterfly class. Raises ValueError when nothing positive is left (e.g. A - A): no class to draw."""
    total = None
    for sign, weights in slots:
        if not len(weights):
            continue
        term = np.mean(np.stack([np.asarray(w, np.float64).reshape(-1) for w in weights]), axis=0) * sign
        total = term if total is None else total + term
    if total is None:
        raise ValueError("every slot is empty")
    total = np.clip(total, 0.0, None)
    if total.sum() < 1e-6:
        raise ValueError("the classes cancel out")
    return (total / total.sum()).astype(np.float32)


def to_typical_length(z) -> np.ndarray:
    """Latent(s) (z_dim,) or (N, z_dim) rescaled to the typical length sqrt(z_dim), direction kept.

    An average of k latents is about sqrt(k) times shorter than any of them, and so is an arithmetic
    result over averaged slots: it lies nearer the origin, where a generator draws blander, more
    average pictures. Rescaling the result makes it as "typical" as a single sample again; on the demo
    faces it raises how often "glasses short hair - short hair + long hair" shows both glasses and long
    hair (e.g. from about 70% to about 85% with 8 exemplars per slot). A zero vector stays zero."""
    z = _f32(z)
    n = np.linalg.norm(z.astype(np.float64), axis=-1, keepdims=True)
    scale = np.where(n > 0, math.sqrt(z.shape[-1]) / np.where(n > 0, n, 1.0), 1.0)
    return (z * scale).astype(np.float32)


def difference(positive: Sequence, negative: Sequence) -> np.ndarray:
    """A direction from two exemplar sets: mean(positive) - mean(negative), e.g. "glasses" =
    mean(men with glasses) - mean(men without)."""
    return (mean_latent(positive).astype(np.float64) - mean_latent(negative)).astype(np.float32)


def apply_direction(z, direction, amount: float) -> np.ndarray:
    """z + amount * direction: "amount of glasses" on any image (amount 1 adds the whole difference)."""
    return (_f32(z) + np.float32(amount) * _f32(direction)).astype(np.float32, copy=False)


def strip(a, b, count: int, mode: str = "lerp") -> np.ndarray:
    """`count` latents from a to b inclusive (an interpolation strip), shape (count, z_dim)."""
    if count < 2:
        raise ValueError("a strip needs at least 2 images")
    t = np.linspace(0.0, 1.0, count, dtype=np.float32)[:, None]
    return interpolate(a, b, t, mode)


# ----- walks through keyframes ---------------------------------------------------------------------
@dataclass(frozen=True)
class WalkSettings:
    """How an animation moves through its keyframes."""

    frames_per_transition: int = 30  # in-between frames from one keyframe to the next
    hold_frames: int = 0  # frames to rest on each keyframe
    interpolation: str = "slerp"  # lerp | slerp
    easing: str = "smooth"  # linear | smooth | ease-in | ease-out | sine
    loop: bool = True  # return from the last keyframe to the first, so the animation loops seamlessly

    def validate(self) -> None:
        if self.frames_per_transition < 1:
            raise ValueError("frames_per_transition must be at least 1")
        if self.hold_frames < 0:
            raise ValueError("hold_frames must not be negative")
        interpolate(np.zeros(1), np.zeros(1), 0.0, self.interpolation)
        ease(0.0, self.easing)


def walk_length(keyframe_count: int, settings: WalkSettings) -> int:
    """Frames a walk through `keyframe_count` keyframes produces (see walk_latents)."""
    if keyframe_count < 1:
        return 0
    if keyframe_count == 1:
        return max(1, settings.hold_frames)
    segments = keyframe_count if settings.loop else keyframe_count - 1
    n = segments * (settings.hold_frames + settings.frames_per_transition)
    # an open walk ends on its last keyframe (and holds it); a loop ends one step before the start
    return n if settings.loop else n + max(1, settings.hold_frames)


def walk_latents(keyframes: Sequence, settings: WalkSettings = WalkSettings(), frames: int | None = None) -> np.ndarray:
    """The latent of every frame of an animation through `keyframes`: (frames, z_dim).

    The timeline, in frames: each keyframe is held for `hold_frames`, then `frames_per_transition`
    frames move to the next one, with the easing applied to the progress. A looping walk goes back
    to the first keyframe and stops one frame short of it, so frame 0 follows the last frame without
    a repeated image; an open walk ends holding its last keyframe. By default there are
    `walk_length()` frames, one per timeline frame; `frames` resamples the same timeline to exactly
    that many frames (a length in seconds times the fps), keeping the proportions of holds and moves.
    Deterministic: the same keyframes and settings give bit-identical latents."""
    settings.validate()
    keys = [_f32(k) for k in keyframes]
    if not keys:
        raise ValueError("a walk needs at least one keyframe")
    natural = walk_length(len(keys), settings)
    n_out = natural if frames is None else int(frames)
    if n_out < 1:
        raise ValueError("an animation needs at least one frame")
    if len(keys) == 1:
        return np.repeat(keys[0][None], n_out, axis=0)
    h, n = settings.hold_frames, settings.frames_per_transition
    pairs = list(zip(keys, keys[1:]))
    if settings.loop:
        pairs.append((keys[-1], keys[0]))
    period = h + n
    # time of each output frame on the natural timeline (integers 0..natural-1 when frames is None)
    if frames is None or n_out == natural:
        times = np.arange(n_out, dtype=np.float64)
    elif settings.loop:
        times = np.arange(n_out, dtype=np.float64) * (natural / n_out)
    else:  # open: first and last frames land on the first and last keyframes
        times = np.linspace(0.0, natural - 1, n_out) if n_out > 1 else np.zeros(1)
    out = np.empty((n_out, keys[0].shape[-1]), np.float32)
    for i, t in enumerate(times):
        seg = int(t // period)
        if seg >= len(pairs):  # the final hold of an open walk
            out[i] = keys[-1]
            continue
        local = t - seg * period
        a, b = pairs[seg]
        if local < h:
            out[i] = a
        else:
            p = float(ease((local - h) / n, settings.easing))
            out[i] = interpolate(a, b, np.float32(p), settings.interpolation)
    return out


# ----- principal directions --------------------------------------------------------------------------
@dataclass(frozen=True)
class Directions:
    """Principal directions of a generator's latent-to-image map."""

    vectors: np.ndarray  # (k, z_dim) orthonormal latent directions, strongest first
    strengths: np.ndarray  # (k,) mean image change (0-255 pixel RMS) per unit step along each direction
    names: tuple[str, ...]  # "PC1", "PC2", ...


def principal_directions(
    generate: Callable[[np.ndarray], np.ndarray],
    z_dim: int,
    count: int = 8,
    samples: int = 256,
    seed: int = 0,
    resolution: int = 16,
    batch: int = 64,
) -> Directions:
    """GANSpace-style principal directions of the latent-to-image map, for a DCGAN.

    GANSpace (Härkönen et al. 2020) finds interpretable controls by PCA of a generator's
    activations and maps the components back to the latent by regression. A DCGAN has no
    intermediate W space, and PCA of z itself is meaningless (the prior is isotropic), so we take
    the image as the feature layer, at a coarse `resolution` (area-downsampled, e.g. 16 px) where
    the layout, colour and shape changes a designer cares about live, rather than texture noise.
    With X the centred coarse images of `samples` latents Z, the cross-covariance C = Z^T X / N is
    the latent-to-image map's average linear response (E[J]^T for x ~ Jz + b, since z is white).
    Its left singular vectors are the latent directions that, on average, move the image the most,
    and they come out orthonormal, strongest first, each with its strength (RMS pixel change per
    unit step). For a linear map this equals both GANSpace's PCA + regression and the eigenvectors
    of J^T J; unlike those it needs only one batch of forward passes (no Jacobians).

    `generate` maps latents (B, z_dim) float32 to uint8 images (B, H, W, C); it runs on the calling
    thread, so call this where the generator lives (the render worker). Deterministic for a seed."""
    if count < 1 or count > z_dim:
        raise ValueError(f"count must be between 1 and z_dim={z_dim}")
    if samples <= count:
        raise ValueError("samples must exceed count")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((samples, z_dim)).astype(np.float32)
    feats = []
    for i in range(0, samples, batch):
        imgs = np.asarray(generate(z[i : i + batch]))
        feats.append(_coarse(imgs, resolution).reshape(len(imgs), -1))
    x = np.concatenate(feats).astype(np.float64)
    x -= x.mean(axis=0, keepdims=True)
    zc = z.astype(np.float64) - z.mean(axis=0, keepdims=True)
    cross = zc.T @ x / samples  # (z_dim, P)
    u, s, _ = np.linalg.svd(cross, full_matrices=False)
    vectors = u[:, :count].T.astype(np.float32)  # (k, z_dim)
    # Sign convention (singular vectors are only defined up to sign): positive = brighter on
    # average, so "PC1 +" means the same thing each time it is computed.
    for i in range(count):
        response = cross.T @ u[:, i]
        if response.sum() < 0:
            vectors[i] = -vectors[i]
    pixels = x.shape[1]
    strengths = (s[:count] / math.sqrt(pixels)).astype(np.float32)
    return Directions(vectors, strengths, tuple(f"PC{i + 1}" for i in range(count)))


def _coarse(images: np.ndarray, resolution: int) -> np.ndarray:
    """uint8 (B, H, W, C) -> float (B, r, r, C) by box averaging (H divisible by r, else nearest r)."""
    b, h, w, c = images.shape
    r = min(resolution, h, w)
    while h % r or w % r:
        r -= 1
    return images.reshape(b, r, h // r, r, w // r, c).mean(axis=(2, 4), dtype=np.float64)


def random_latents(seed: int, count: int, z_dim: int) -> np.ndarray:
    """The latents `gan-studio generate --seed` uses for a seed (torch's generator, so a seed means
    the same images in the CLI, the gallery and the pad), as float32 numpy (count, z_dim)."""
    import torch  # local: the rest of this module is numpy only

    return torch.randn(count, z_dim, generator=torch.Generator().manual_seed(int(seed))).numpy()


def seed_latent(seed: int, z_dim: int) -> np.ndarray:
    """The latent of the first image of a seed, (z_dim,)."""
    return random_latents(seed, 1, z_dim)[0]
