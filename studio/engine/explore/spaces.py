"""The latent spaces an explorer moves in: z (the noise every latent kind draws from) and, for
style-based generators, W (`style_space.py`). A `LatentSpace` answers what the explorer's maths
needs to know about the flat vectors it holds: their length, their centre (what truncation pulls
towards), a typical distance from it (how long a useful step is), whether slerp makes sense, and
how a seed or a z becomes a latent of the space.

A LatentSpace holds its own CPU copy of the mapping network (W), so any thread may use it (the GUI
thread maps a seed to w in well under a millisecond; the render thread keeps its own generator).
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from studio.engine.explore import latent as L
from studio.engine.explore import style_space as S

TITLES = {"z": "z (noise)", "w": "W (styles)"}


@dataclass(frozen=True, eq=False)
class LatentSpace:
    """One space's facts and its map from z. Immutable; any thread."""

    name: str  # "z" or "w"
    dim: int  # length of the explorer's flat latents in this space
    z_dim: int
    mean: np.ndarray  # (dim,) the centre: zero in z, w_avg on every layer in W
    typical: float  # RMS distance of a random sample from `mean` (flat, over all dim values)
    num_ws: int = 0  # W only: styles per image and their length
    w_dim: int = 0
    _from_z: Callable[[np.ndarray, object], np.ndarray] | None = field(default=None, repr=False)
    # Whether pulling these latents towards `mean` changes the pictures. Not in the z of a style-based
    # generator: its mapping network normalises every z to one length, so a shorter z draws the same
    # picture; its truncation pulls the styles towards w_avg instead (in W, or `GeneratorModel.to_ws`).
    truncatable: bool = True
    num_classes: int = 0  # W of a generator with classes: truncation pulls towards the class's own mean w
    _centres: dict = field(default_factory=dict, repr=False)  # those means, per class (S.class_centres)

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name)

    @property
    def spherical(self) -> bool:
        """Whether slerp suits the space: z is Gaussian (samples near a sphere); W is not, and the
        StyleGAN papers interpolate it linearly."""
        return self.name == "z"

    @property
    def groups(self) -> dict[str, slice]:
        """Layer groups (W only; {} in z)."""
        return S.layer_groups(self.num_ws) if self.name == "w" else {}

    def from_z(self, z, labels=None) -> np.ndarray:
        """z (B, z_dim) or (z_dim,) -> this space's flat latents (B, dim). `labels`, for a generator
        with classes: the class (as `GeneratorModel.generate` takes it; None: the first). In W the
        class enters through the mapping, so the w hold it; z holds no class and ignores it."""
        z = np.asarray(z, dtype=np.float32)
        if z.ndim == 1:
            z = z[None]
        return z.copy() if self._from_z is None else self._from_z(z, labels)

    def random_latents(self, seed: int, count: int, labels=None) -> np.ndarray:
        """The latents of a seed's images (the same pictures as `gan-studio generate --seed`), in W
        drawn as class `labels` (see `from_z`)."""
        return self.from_z(L.random_latents(seed, count, self.z_dim), labels)

    def seed_latent(self, seed: int, labels=None) -> np.ndarray:
        return self.random_latents(seed, 1, labels)[0]

    def centre(self, labels=None) -> np.ndarray:
        """(dim,) what truncation pulls towards: `mean`, or in W of a generator with classes the mean w
        of class `labels` (one class or mix, as `from_z` takes it; None: the first class) on every row."""
        if self.name == "z" or not self.num_classes:
            return self.mean
        from studio.engine.explore.generator import class_input

        c = class_input(labels, 1, self.num_classes).numpy()
        w = S.class_centres(lambda z, rows: self.from_z(z, rows)[:, : self.w_dim], c, self.z_dim, self._centres)
        return S.mean_flat(w[0], self.num_ws)

    def truncate(self, x, psi: float, labels=None) -> np.ndarray:
        """Pull latents towards the space's centre (z: zero; W: w_avg, or class `labels`' own mean w
        for a generator with classes); unchanged where that would not change the pictures
        (`truncatable`)."""
        if not self.truncatable or psi == 1.0:
            return L.truncate(x, 1.0)
        return L.truncate(x, psi, None if self.name == "z" else self.centre(labels))

    def to_typical(self, x) -> np.ndarray:
        """Rescale latents' distance from the centre to a typical sample's (direction kept): an
        average of exemplars lies nearer the centre and draws blander pictures."""
        if self.name == "z":
            return L.to_typical_length(x)
        return S.to_typical_offset(x, self.mean[: self.w_dim], self.num_ws, self.typical / math.sqrt(self.num_ws))

    def amount_limit(self, direction) -> float:
        """The largest amount of `direction` the pad offers: the amount whose step is as long as a
        typical sample's distance from the centre, so the slider's end changes the image a lot without
        leaving the latents the generator knows (a difference of two single latents is ~1.4x that
        long, so a fixed +3 turned it into noise). Between 0.25 and 3."""
        length = float(np.linalg.norm(np.asarray(direction, dtype=np.float64)))
        if not np.isfinite(length) or length == 0:
            return 1.0
        return float(np.clip(self.typical / length, 0.25, 3.0))

    def accepts(self, vector) -> bool:
        return np.asarray(vector).reshape(-1).size == self.dim


def z_space(z_dim: int, truncatable: bool = True) -> LatentSpace:
    return LatentSpace("z", z_dim, z_dim, np.zeros(z_dim, np.float32), math.sqrt(z_dim), truncatable=truncatable)


def w_space(mapping, z_dim: int, num_ws: int, w_dim: int, samples: int = 2000,
            num_classes: int = 0) -> LatentSpace:
    """W of a style-based generator from its mapping network (`mapping(z, psi, c=...)` -> (B, num_ws,
    w_dim), with buffer `w_avg`), copied to the CPU so the space owns it. The typical distance is
    measured on `samples` seeded samples (with `num_classes`, spread over the classes in turn)."""
    import torch

    from studio.engine.explore.generator import class_input

    own = copy.deepcopy(mapping).to("cpu").float().eval().requires_grad_(False)
    lock = threading.Lock()  # one module, possibly several threads: torch modules are not re-entrant-safe for us

    def from_z(z: np.ndarray, labels=None) -> np.ndarray:
        c = class_input(labels, len(z), num_classes)
        with lock, torch.inference_mode():
            z_t = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))
            w = own(z_t, c=c)[:, 0].numpy()  # c None: a mapping without classes
        return S.flat(S.as_ws(w, num_ws, w_dim))

    w_avg = own.w_avg.detach().numpy().astype(np.float32)
    every_class = np.arange(samples) % num_classes if num_classes else None  # w_avg is over all classes
    sample = from_z(L.random_latents(0x57_1E, samples, z_dim), every_class)[:, :w_dim].astype(np.float64)
    per_row = float(np.sqrt(((sample - w_avg) ** 2).sum(axis=1).mean()))  # from the centre truncation uses
    return LatentSpace("w", num_ws * w_dim, z_dim, S.mean_flat(w_avg, num_ws), per_row * math.sqrt(num_ws),
                       num_ws, w_dim, from_z, num_classes=num_classes)
