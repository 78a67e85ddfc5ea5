"""What the latent pad maps positions to: four blended corners, or a plane through a centre latent.

Plain numpy (no Qt): `PadModel.latents(u, v)` is the latent under a pad position, `grid(n)` the
latents of the pad's map. The view (pad.py) owns one and the surface (pad_surface.py) shows it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.engine.explore import latent as L
from studio.engine.explore import style_space as S
from studio.ui.explorer.common import LatentItem


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
    space: object = None  # spaces.LatentSpace of the latents (None: z, truncation towards zero)
    labels: np.ndarray | None = None  # the class drawn (weights), for a generator with classes: its centre in W
    # Style mixing (W): every point takes the `mix_groups` styles ("coarse", ...) of `mix_with`.
    mix_with: LatentItem | None = None
    mix_groups: tuple[str, ...] = ()

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
        z = L.truncate(base, self.psi) if self.space is None else self.space.truncate(base, self.psi, self.labels)
        if self.adjust is not None and self.amount:
            z = L.apply_direction(z, self.adjust.vector, self.amount)
        if self.mixing():
            sp = self.space
            mixed = S.mix(self.mix_with.z, z.reshape(-1, sp.dim), self.mix_groups, sp.num_ws, sp.w_dim)
            z = S.flat(mixed).reshape(z.shape)
        return z

    def point_labels(self, u, v) -> np.ndarray | None:
        """Class weights at pad position(s) (..., classes), in z for a generator with classes: in blend
        mode the corners' classes blended as their latents are (a corner keeps the class it was saved
        or picked as; a seed corner is `labels`, the chosen class), in plane mode the centre's. None
        where every point is the chosen class, and in W (each w holds its class)."""
        if self.labels is None or (self.space is not None and self.space.name != "z"):
            return None
        k = len(self.labels)

        def own(item):
            return item.labels if item is not None and item.labels is not None and len(item.labels) == k \
                else self.labels

        if self.mode == "blend":
            rows = np.stack([own(c) for c in self.corners]) if len(self.corners) == 4 else self.labels[None]
            if np.array_equal(rows, np.broadcast_to(self.labels, rows.shape)):
                return None
            return L.bilinear(rows, u, v)  # straight: a mix of classes lies on the embeddings' line
        centre = own(self.center)
        if np.array_equal(centre, self.labels):
            return None
        return np.broadcast_to(centre, np.shape(u) + (k,)).astype(np.float32)

    def grid_labels(self, n: int) -> np.ndarray | None:
        """`point_labels` of `grid(n)`'s points: (n * n, classes), or None."""
        u, v = L.pad_grid_positions(n)
        labels = self.point_labels(u, v)
        return None if labels is None else labels.reshape(n * n, -1)

    def mixing(self) -> bool:
        """Whether points take some styles from `mix_with` (W only, a group chosen, an image given)."""
        sp = self.space
        return (sp is not None and sp.name == "w" and bool(self.mix_groups) and self.mix_with is not None
                and sp.accepts(self.mix_with.z))

    def before_adjustments(self, z: np.ndarray) -> np.ndarray:
        """The point's own latent before truncation and the adjust amount: what "centre on this image"
        makes the new centre (the truncation and amount keep being applied on top)."""
        base = z if self.adjust is None else L.apply_direction(z, self.adjust.vector, -self.amount)
        if self.psi not in (0.0, 1.0) and (self.space is None or self.space.truncatable):
            mean = 0.0 if self.space is None else self.space.centre(self.labels)
            base = (mean + (base - mean) / np.float32(self.psi)).astype(np.float32)
        return base

    def grid(self, n: int) -> np.ndarray:
        """n x n latents covering the pad corner to corner, row-major: (n * n, z_dim)."""
        u, v = L.pad_grid_positions(n)
        return self.latents(u, v).reshape(n * n, -1)
