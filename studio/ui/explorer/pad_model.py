"""What the latent pad maps positions to: four blended corners, or a plane through a centre latent.

Plain numpy (no Qt): `PadModel.latents(u, v)` is the latent under a pad position, `grid(n)` the
latents of the pad's map. The view (pad.py) owns one and the surface (pad_surface.py) shows it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.engine.explore import latent as L
from studio.ui.explorer.common import LatentItem


def amount_limit(direction: np.ndarray, z_dim: int) -> float:
    """The largest "amount of" a direction the pad offers: the amount whose step is as long as a
    typical latent (sqrt(z_dim)), so the slider's end changes the image a lot without leaving the
    latents the generator knows (a difference of two single latents is ~1.4x that long, so a fixed
    +3 turned it into noise). Between 0.25 and 3."""
    length = float(np.linalg.norm(direction))
    if not np.isfinite(length) or length == 0:
        return 1.0
    return float(np.clip(np.sqrt(z_dim) / length, 0.25, 3.0))


@dataclass
class Axis:
    """One axis of the plane mode: a direction and what to call it."""

    name: str  # "glasses", "PC1"
    vector: np.ndarray  # (z_dim,)
    unit: str = ""  # how an amount reads, e.g. "σ" for principal directions


@dataclass
class PadModel:
    """What the pad maps positions to (plain numpy; no Qt)."""

    corners: list[LatentItem] = field(default_factory=list)  # 4, in TL, TR, BL, BR order
    spherical: bool = False  # slerp instead of lerp between corners
    mode: str = "blend"  # blend | plane
    center: LatentItem | None = None  # plane mode: the plane passes through this latent
    axes: tuple[Axis | None, Axis | None] = (None, None)  # plane mode: x and y directions
    span: float = 2.0  # plane mode: the pad's edges are at -span and +span along each axis
    psi: float = 1.0  # truncation toward the mean latent
    adjust: Axis | None = None  # "amount of X" applied to every point
    amount: float = 0.0

    def ready(self) -> bool:
        if self.mode == "blend":
            return len(self.corners) == 4
        return self.center is not None  # axes not chosen (or still computing) count as zero

    def latents(self, u, v) -> np.ndarray:
        """Latent(s) at pad position(s) (u right, v down, in [0, 1]); shape (..., z_dim)."""
        if self.mode == "blend":
            base = L.bilinear(np.stack([c.z for c in self.corners]), u, v, self.spherical)
        else:
            a, b = L.pad_to_plane(u, v, self.span)
            zero = np.zeros_like(self.center.z)
            d1, d2 = (ax.vector if ax is not None and ax.vector is not None else zero for ax in self.axes)
            base = L.plane(self.center.z, d1, d2, a, b)
        z = L.truncate(base, self.psi)
        if self.adjust is not None and self.amount:
            z = L.apply_direction(z, self.adjust.vector, self.amount)
        return z

    def grid(self, n: int) -> np.ndarray:
        """n x n latents covering the pad corner to corner, row-major: (n * n, z_dim)."""
        u, v = L.pad_grid_positions(n)
        return self.latents(u, v).reshape(n * n, -1)
