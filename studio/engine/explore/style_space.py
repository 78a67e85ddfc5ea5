"""The style space W of a style-based generator: layer groups, style mixing, truncation towards
w_avg and principal directions in W (GANSpace). Plain numpy, no state: any thread.

Shapes. A style-based generator maps z to one w (w_dim,); synthesis takes one w per layer, ws
(num_ws, w_dim) ("w+" once the rows differ, after mixing or projection). The explorer's latent
maths (`latent.py`: blends, planes, sums, directions) works on flat vectors, so in W an explorer
latent is ws flattened to (num_ws * w_dim,): a direction that moves only some layers is a flat
vector that is zero on the others, and every blend or sum keeps working unchanged.

Layer groups. Which ws row drives which resolution: our synthesis network (and the reference's)
uses rows 2k and 2k+1 for the layers of resolution 4 * 2^k (row 2k+1 also feeds the first layer
of the next block), so num_ws = 2 * log2(size) - 2. The StyleGAN paper (Karras et al. 2019, sec.
3.1) calls 4-8 px coarse (pose, face shape, hair length), 16-32 px middle (features, eyes) and
64 px and up fine (colour scheme, micro detail) in a 1024 px model, where the fine layers are five of
its nine resolutions. Models smaller than 128 px have no room for that split, so there fine starts
at half the picture's side: a 64 px model's 64 px layers alone changed nothing a viewer reads (on the
64 px faces bundled until 2026-12-05, A's 64 px styles with B's others gave A's background colour in
8% of pairs, its hair length in 0%), while its 32-64 px layers carried the background's colour (97%)
as the paper's fine layers carry the colour scheme. The skin, hair and shirt colours of those faces
rode on the coarse styles with the shape: the skip generator's low-resolution RGB outputs paint the
large flat areas. What each group carries is learned and differs between runs: of seven 64 px runs on
those portraits (2 or 8 mapping layers, R1 weight 0.05 or 2.0, several seeds), the fine styles carried
the background's colour in four (97%, 87%, 80%, and 98% in the demo bundled now), the coarse ones in
two (68%, 92%) and the middle ones in one (99%); tests/engine/test_style_space.py asserts the bundled
demo's. Splits: 32 px models coarse 4-8,
middle 16, fine 32; 64 px coarse 4-8 (rows 0-3), middle 16 (4-5), fine 32-64 (6-9); from 128 px up
the paper's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

GROUPS = ("coarse", "middle", "fine")
GROUP_HELP = {
    "coarse": "4-8 px layers: pose, shape, hair length",
    "middle": "the layers between: features, smaller shapes",
    "fine": "the finest layers: colours and fine detail",
}


def _f32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)


def size_of(num_ws: int) -> int:
    """The image side of a synthesis network with `num_ws` styles (num_ws = 2 * log2(size) - 2)."""
    if num_ws < 4 or num_ws % 2:
        raise ValueError(f"num_ws must be even and at least 4, got {num_ws}")
    return 2 ** ((num_ws + 2) // 2)


def ws_resolutions(num_ws: int) -> list[int]:
    """The resolution each ws row styles: 4, 4, 8, 8, 16, 16, ... (see the module docstring)."""
    size_of(num_ws)
    return [4 * 2 ** (i // 2) for i in range(num_ws)]


def layer_groups(num_ws: int) -> dict[str, slice]:
    """coarse / middle / fine -> the ws rows they cover, contiguous and together covering all rows.

    Coarse is 4-8 px; fine starts at 64 px, or at half the picture's side in smaller models, but
    never below 32 px so that middle keeps a resolution (32 px: fine 32, middle 16; 64 px: fine
    32-64, middle 16); middle is what lies between (see the module docstring)."""
    res = ws_resolutions(num_ws)
    fine_from = min(64, max(res[-1] // 2, 32))
    coarse_end = sum(r <= 8 for r in res)
    fine_start = next(i for i, r in enumerate(res) if r >= fine_from)
    return {"coarse": slice(0, coarse_end), "middle": slice(coarse_end, fine_start),
            "fine": slice(fine_start, num_ws)}


def group_help(num_ws: int, name: str) -> str:
    """The tooltip of layer group `name` for a model with `num_ws` styles: its resolutions, then what
    it usually carries (GROUP_HELP), e.g. "32-64 px layers: colours and fine detail" at 64 px."""
    span = layer_groups(num_ws)[name]
    res = ws_resolutions(num_ws)[span]
    lo, hi = res[0], res[-1]
    what = GROUP_HELP[name].split(": ", 1)[1]
    return f"{lo} px layers: {what}" if lo == hi else f"{lo}-{hi} px layers: {what}"


def group_rows(num_ws: int, groups: str | Iterable[str]) -> np.ndarray:
    """Boolean mask (num_ws,) of the rows of one group or several (names from GROUPS)."""
    names = (groups,) if isinstance(groups, str) else tuple(groups)
    spans = layer_groups(num_ws)
    mask = np.zeros(num_ws, dtype=bool)
    for name in names:
        if name not in spans:
            raise ValueError(f"unknown layer group '{name}' (choose {', '.join(GROUPS)})")
        mask[spans[name]] = True
    return mask


def as_ws(w, num_ws: int, w_dim: int) -> np.ndarray:
    """Any form of styles -> (B, num_ws, w_dim) float32: one w (w_dim,), a batch of w (B, w_dim)
    broadcast to every layer, flat explorer latents (B, num_ws * w_dim) or (num_ws * w_dim,), or
    ws (B, num_ws, w_dim) itself."""
    w = _f32(w)
    if w.ndim == 1:
        w = w[None]
    if w.ndim == 2 and w.shape[1] == w_dim:
        return np.ascontiguousarray(np.broadcast_to(w[:, None, :], (w.shape[0], num_ws, w_dim)))
    if w.ndim == 2 and w.shape[1] == num_ws * w_dim:
        return w.reshape(-1, num_ws, w_dim)
    if w.ndim == 3 and w.shape[1:] == (num_ws, w_dim):
        return w
    raise ValueError(f"styles must be (B, {w_dim}), (B, {num_ws}, {w_dim}) or flat (B, {num_ws * w_dim}); "
                     f"got {w.shape}")


def flat(ws) -> np.ndarray:
    """ws (B, num_ws, w_dim) -> explorer latents (B, num_ws * w_dim)."""
    ws = _f32(ws)
    return ws.reshape(ws.shape[0], -1)


def mix(ws_a, ws_b, groups: str | Iterable[str], num_ws: int, w_dim: int) -> np.ndarray:
    """Style mixing: the `groups` styles (e.g. "coarse") of `ws_a`, every other layer's from `ws_b`.

    Inputs in any form `as_ws` takes, broadcasting a single image against a batch; the result is
    (B, num_ws, w_dim). mix(a, b, "coarse") draws a's pose and shape in b's colours."""
    a, b = as_ws(ws_a, num_ws, w_dim), as_ws(ws_b, num_ws, w_dim)
    a, b = np.broadcast_arrays(a, b)
    return np.where(group_rows(num_ws, groups)[None, :, None], a, b).astype(np.float32)


def truncate_w(ws, psi: float, w_avg) -> np.ndarray:
    """Truncation in W: w_avg + psi (w - w_avg) on every row, same shape as `ws` (flat or not).
    `w_avg`: one centre (w_dim,) for every latent, or one per latent (B, w_dim) for ws (B, ...).

    The StyleGAN way: pulling towards the average w gives more typical pictures than pulling z
    towards 0, because W's average is the generator's average image, not an arbitrary point."""
    ws = _f32(ws)
    if psi == 1.0:
        return ws
    centres = _f32(w_avg)
    centres = centres.reshape(-1, centres.shape[-1])
    if ws.shape[-1] % centres.shape[1]:
        raise ValueError(f"w_avg of {centres.shape[1]} values does not tile latents of {ws.shape[-1]}")
    avg = np.tile(centres, ws.shape[-1] // centres.shape[1])
    if len(avg) == 1:
        avg = avg[0]
    elif ws.ndim == 3:  # (B, num_ws, w_dim): each latent's centre on its every row
        avg = avg[:, None, :]
    return (avg + np.float32(psi) * (ws - avg)).astype(np.float32, copy=False)


CENTRE_SAMPLES, CENTRE_SEED = 2000, 0xC1A55


def class_centres(map_w: Callable[[np.ndarray, np.ndarray], np.ndarray], weights, z_dim: int,
                  cache: dict[bytes, np.ndarray]) -> np.ndarray:
    """The centre truncation pulls a generator with classes towards, per row of class `weights`
    (n, num_classes) -> (n, w_dim): the mean w of CENTRE_SAMPLES seeded z mapped as that class
    (`map_w(z, weights)` -> w). The tracked w_avg is the average over all classes, which lies
    between them: pulling towards it fades every picture's class, towards the class's own mean
    keeps it. Each class (or mix) is computed once into `cache`."""
    from studio.engine.explore.latent import random_latents

    rows = _f32(weights).reshape(len(weights), -1)
    for key, row in {r.tobytes(): r for r in rows}.items():
        if key not in cache:
            z = random_latents(CENTRE_SEED, CENTRE_SAMPLES, z_dim)
            w = np.asarray(map_w(z, np.repeat(row[None], CENTRE_SAMPLES, axis=0)), dtype=np.float64)
            cache[key] = w.mean(axis=0).astype(np.float32)
    return np.stack([cache[r.tobytes()] for r in rows])


def mean_flat(w_avg, num_ws: int) -> np.ndarray:
    """The average image's explorer latent: w_avg on every row, flat (num_ws * w_dim,)."""
    return np.tile(_f32(w_avg).reshape(-1), num_ws)


def to_typical_offset(latent, w_avg, num_ws: int, length: float) -> np.ndarray:
    """Flat W latent(s) with their offset from the average w rescaled to `length` per row (RMS over
    rows), direction kept: an average of k exemplars lies ~sqrt(k) times nearer w_avg than any of
    them, so it draws a blander picture; this gives it a single sample's typical distance again."""
    z = _f32(latent)
    avg = mean_flat(w_avg, num_ws)
    off = (z - avg).astype(np.float64)
    rows = off.reshape(*off.shape[:-1], num_ws, -1)
    rms = np.sqrt((rows**2).sum(axis=-1).mean(axis=-1, keepdims=True))
    scale = np.where(rms > 0, length / np.where(rms > 0, rms, 1.0), 1.0)
    return (avg + off * scale).astype(np.float32)


@dataclass(frozen=True)
class WDirections:
    """Principal directions of W (one w, applied to the rows of a layer group)."""

    vectors: np.ndarray  # (k, w_dim) orthonormal, strongest first
    sigmas: np.ndarray  # (k,) standard deviation of sampled w along each: the unit "σ" of an amount
    mean: np.ndarray  # (w_dim,) mean of the samples
    names: tuple[str, ...]  # "PC1", "PC2", ...

    def flat_direction(self, index: int, groups: str | Iterable[str], num_ws: int) -> np.ndarray:
        """Direction `index`, one σ long, on the rows of `groups` and zero elsewhere, as a flat explorer
        latent (num_ws * w_dim,): adding amount * it moves only those layers by amount σ."""
        rows = group_rows(num_ws, groups)
        out = np.zeros((num_ws, self.vectors.shape[1]), np.float32)
        out[rows] = self.vectors[index] * self.sigmas[index]
        return out.reshape(-1)


def principal_w_directions(sample_w: Callable[[np.ndarray], np.ndarray], z_dim: int, count: int = 8,
                           samples: int = 10_000, seed: int = 0, batch: int = 1000) -> WDirections:
    """GANSpace in W (Härkönen et al. 2020, sec. 2.2: for StyleGAN, PCA of w itself): sample
    `samples` z, map them with `sample_w` ((B, z_dim) float32 -> (B, w_dim)), and take the
    principal components of the w cloud. The components are the axes along which W varies most;
    GANSpace applies each to a range of layers, which `flat_direction` does by layer group.

    Signs are fixed so that a component's largest entry is positive: the same samples give the
    same "PC1 +" every time. Runs `sample_w` on the calling thread (the render worker)."""
    if samples <= count:
        raise ValueError("samples must exceed count")
    rng = np.random.default_rng(seed)
    ws = []
    for i in range(0, samples, batch):
        z = rng.standard_normal((min(batch, samples - i), z_dim)).astype(np.float32)
        ws.append(_f32(sample_w(z)))
    w = np.concatenate(ws).astype(np.float64)
    if count > w.shape[1]:
        raise ValueError(f"count must be at most w_dim={w.shape[1]}")
    mean = w.mean(axis=0)
    _, s, vt = np.linalg.svd(w - mean, full_matrices=False)
    vectors = vt[:count]
    flip = np.sign(vectors[np.arange(count), np.abs(vectors).argmax(axis=1)])
    vectors = vectors * flip[:, None]
    sigmas = s[:count] / np.sqrt(len(w) - 1)
    return WDirections(vectors.astype(np.float32), sigmas.astype(np.float32), mean.astype(np.float32),
                       tuple(f"PC{i + 1}" for i in range(count)))
