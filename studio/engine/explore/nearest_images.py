"""Memorization check: which training images is a generated image closest to?

An artist wants to see that the model makes new images rather than copies of theirs. `NearestImages`
indexes a training set once and answers "the k nearest training images" for any picture, in two spaces:

- ``pixel``: the images area-averaged to 16x16; the distance is the RMS difference of the pixel values
  (0..1). Finds copies and near copies, including recoloured-by-a-little ones.
- ``feature``: a fixed, seeded random projection of small patches on a Laplacian pyramid (the same band-pass
  decomposition as the SWD quality metric), rectified, pooled to a coarse grid and over the whole image,
  then L2-normalised. It compares local structure and texture at three scales and tolerates pixel noise
  and 1-2 px shifts; no downloaded weights, and the same numbers on every machine.

Each answer carries `typical`: the median distance from a training image to its nearest other training
image in the same space, so "how close is close" has a scale (`copy_ratio` well below 1 means the picture
is nearer to a training image than the training images are to each other).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from studio.engine.train.metrics import laplacian_pyramid

SPACES = ("pixel", "feature")
PIXEL_SIDE = 16  # side of the area-averaged thumbnails compared in pixel space
FEATURE_SIDE = 32  # images are brought to this side before the pyramid (cost grows with its square)
_FILTERS = 16  # random patch projections per pyramid level
_PATCH = 3  # patch side projected at each level (3 levels of a pyramid: 3, 6 and 12 px of the 32 px image)
_POOL = 4  # each level's responses are averaged onto a 4x4 grid (and over the whole image)
# The finest band holds most of a generator's pixel noise: half weight keeps a noisy copy nearest to its
# original (300 discs, +-30 grey levels of noise: 100/100 originals found first; 83/100 with equal weights).
# The finest band is also sampled at stride 2: 4x cheaper, and no less accurate in that measurement.
_LEVEL_WEIGHTS = (0.5, 1.0, 1.0)
_CHUNK = 512  # images per batch while indexing (bounds memory for large collections)
_TYPICAL_CANDIDATES = 16  # nearest candidates re-measured exactly per sampled image
_TYPICAL_SAMPLE = 200  # training images used to estimate the typical nearest-neighbour distance


@dataclass(frozen=True)
class Neighbours:
    """The k training images nearest to one picture, nearest first. Plain data: any thread."""

    indices: np.ndarray  # (k,) int64 rows of the training set
    distances: np.ndarray  # (k,) float32 distances in `space`
    paths: list[str]  # source files of those rows ("" where unknown)
    space: str  # "pixel" or "feature"
    typical: float  # median distance between a training image and its nearest other training image

    @property
    def copy_ratio(self) -> float:
        """Nearest distance / typical distance: near 0 = a copy; around 1 or more = as new as the data is varied."""
        return float(self.distances[0] / self.typical) if self.typical > 0 else float("inf")


def _as_nchw_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) tensor / (N, H, W, C) array, or one (H, W, C) picture -> float (N, C, H, W) in [0, 1]."""
    t = torch.as_tensor(images)
    if t.ndim == 2:
        t = t[:, :, None]
    if t.ndim == 3:
        t = t[None]
    if isinstance(images, np.ndarray) or (t.shape[-1] in (1, 2, 3, 4) and t.shape[1] not in (1, 2, 3, 4)):
        t = t.permute(0, 3, 1, 2)
    if t.dtype == torch.uint8:
        return t.float().div_(255.0)
    return t.float()


def _resize(x: torch.Tensor, side: int) -> torch.Tensor:
    """Area-average down to side x side (exact box filter for multiples), bilinear up for smaller images."""
    h, w = x.shape[-2:]
    if (h, w) == (side, side):
        return x
    if h % side == 0 and w % side == 0:
        return F.avg_pool2d(x, (h // side, w // side))
    if h > side and w > side:
        return F.adaptive_avg_pool2d(x, side)
    return F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)


def _pixel_descriptors(x: torch.Tensor) -> torch.Tensor:
    d = _resize(x, PIXEL_SIDE)
    return d.flatten(1) / np.sqrt(d[0].numel())  # L2 distance of these = RMS pixel difference


class NearestImages:
    """An index of a training set for nearest-image queries. Build it once on a worker thread (10k images
    at 64 px: ~2 s of one CPU core); then a query takes ~10 ms. One thread at a time.

    `images`: uint8 (N, C, H, W) tensor (as in ImageDataset.images) or (N, H, W, C) numpy array."""

    def __init__(self, images: np.ndarray | torch.Tensor, paths: list[str] | None = None, *, seed: int = 0):
        n = len(images)
        if n == 0:
            raise ValueError("the training set is empty")
        if paths is not None and len(paths) != n:
            raise ValueError(f"{len(paths)} paths for {n} images")
        self.paths = list(paths) if paths is not None else [""] * n
        self.images = images  # a reference (no copy), to show the neighbours
        first = _as_nchw_float(images[:1])
        self.channels = first.shape[1]
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(_FILTERS, self.channels, _PATCH, _PATCH, generator=g)
        self._filters = w / w.flatten(1).norm(dim=1)[:, None, None, None]
        pixel, feature = [], []
        for start in range(0, n, _CHUNK):
            x = _resize(_as_nchw_float(images[start : start + _CHUNK]), FEATURE_SIDE)
            pixel.append(_pixel_descriptors(x))
            feature.append(self._features(x))
        self._desc = {"pixel": torch.cat(pixel), "feature": torch.cat(feature)}
        self._sqnorm = {s: d.pow(2).sum(1) for s, d in self._desc.items()}
        self._typical: dict[str, float] = {}

    @classmethod
    def from_dataset(cls, dataset, **kwargs) -> NearestImages:
        """Index an `ImageDataset` (its uint8 images and source paths)."""
        return cls(dataset.images, dataset.paths, **kwargs)

    def __len__(self) -> int:
        return len(self.paths)

    def picture(self, row: int) -> np.ndarray:
        """Training image `row` as uint8 (H, W, C), for display."""
        t = torch.as_tensor(self.images[row])
        if t.ndim == 3 and t.shape[0] in (1, 3, 4) and t.shape[-1] not in (1, 3, 4):
            t = t.permute(1, 2, 0)  # stored (C, H, W) like ImageDataset.images
        return t.contiguous().numpy()

    # ----- descriptors ---------------------------------------------------------------------------
    def _features(self, x: torch.Tensor) -> torch.Tensor:
        x = _resize(x, FEATURE_SIDE)
        parts = []
        for weight, stride, level in zip(_LEVEL_WEIGHTS, (2, 1, 1), laplacian_pyramid(x, 3)):
            # (N, 16, h, w) local structure; the finest band is sampled every other pixel (4x cheaper)
            r = F.conv2d(level, self._filters, stride=stride, padding=_PATCH // 2).abs()
            parts.append(weight * F.normalize(F.adaptive_avg_pool2d(r, _POOL).flatten(1), dim=1))  # layout
            parts.append(weight * F.normalize(r.mean((2, 3)), dim=1))  # whole-image statistics
        return F.normalize(torch.cat(parts, 1), dim=1)

    def descriptors(self, pictures: np.ndarray | torch.Tensor, space: str = "pixel") -> torch.Tensor:
        """Descriptors of pictures (uint8 (H, W, C), (N, H, W, C) array or (N, C, H, W) tensor) in `space`."""
        x = _as_nchw_float(pictures)
        if x.shape[1] != self.channels:
            raise ValueError(f"pictures have {x.shape[1]} channels, the training images {self.channels}")
        x = _resize(x, FEATURE_SIDE)  # the same steps as the index, so an identical picture is at distance 0
        if space == "pixel":
            return _pixel_descriptors(x)
        if space == "feature":
            return self._features(x)
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")

    # ----- queries --------------------------------------------------------------------------------
    def _distances(self, q: torch.Tensor, space: str) -> torch.Tensor:
        """(Q, N) Euclidean distances from query descriptors to every training image, vectorised."""
        d2 = self._sqnorm[space][None] + q.pow(2).sum(1, keepdim=True) - 2.0 * (q @ self._desc[space].T)
        return d2.clamp_min_(0).sqrt_()

    def _nearest(self, q: torch.Tensor, space: str, k: int, skip: torch.Tensor | None = None):
        """(indices, distances) of the `k` training images nearest to each query descriptor, nearest
        first; `skip` (one training index per query) is left out. The expanded form loses precision
        for near-identical vectors (duplicates come out ~1e-3 apart, depending on the BLAS kernel),
        so the candidates it picks are measured again exactly."""
        dist = self._distances(q, space)
        if skip is not None:
            dist[torch.arange(len(q)), skip] = float("inf")
        top = torch.topk(dist, k, dim=1, largest=False).indices  # (Q, k)
        exact = (self._desc[space][top] - q[:, None]).norm(dim=2)
        order = torch.argsort(exact, dim=1, stable=True)
        return top.gather(1, order), exact.gather(1, order)

    def query(self, picture: np.ndarray | torch.Tensor, k: int = 5, space: str = "pixel") -> Neighbours:
        """The `k` training images nearest to one picture (uint8 (H, W, C); any size, same channels)."""
        return self.query_many(picture, k, space)[0]

    def query_many(self, pictures: np.ndarray | torch.Tensor, k: int = 5, space: str = "pixel") -> list[Neighbours]:
        """`query` for a batch of pictures at once ((N, H, W, C) uint8 array or (N, C, H, W) tensor)."""
        q = self.descriptors(pictures, space)
        top, exact = self._nearest(q, space, max(1, min(k, len(self))))
        typical = self.typical_distance(space)
        return [
            Neighbours(idx.numpy().astype(np.int64), d.numpy().astype(np.float32),
                       [self.paths[i] for i in idx.tolist()], space, typical)
            for idx, d in zip(top, exact)
        ]

    def typical_distance(self, space: str = "pixel") -> float:
        """Median distance from a training image to its nearest other, non-identical training image (over a
        fixed sample of 200); inf when all images are identical."""
        if space not in self._typical:
            n = len(self)
            if n < 2:
                self._typical[space] = 0.0
            else:
                g = torch.Generator().manual_seed(7)
                rows = torch.randperm(n, generator=g)[:_TYPICAL_SAMPLE]
                _, exact = self._nearest(self._desc[space][rows], space, min(_TYPICAL_CANDIDATES, n - 1), skip=rows)
                exact[exact < 1e-6] = float("inf")  # exact duplicates in the folder would zero the scale
                self._typical[space] = float(exact.min(1).values.median())
        return self._typical[space]


def index_project(project_dir, progress=None, should_cancel=None) -> NearestImages:
    """Index the training images of a DCGAN project (from the decode cache when it is warm).

    A bundled demo's images are procedural and not shipped: they are drawn again from the command
    the project records (the same pictures, by seed). UserError when a project's images are gone.
    Any thread."""
    from pathlib import Path

    from studio.engine.config import config_from_dict
    from studio.engine.data.dataset import DataConfig, prepare_dataset
    from studio.engine.data.demo_sets import draw_procedural_folder, is_procedural_folder
    from studio.engine.errors import Cancelled, UserError
    from studio.engine.project.folder import Project

    project = Project.open(project_dir)
    folder = (project.meta.get("data", {}).get("folders") or {}).get("data")
    if folder and is_procedural_folder(folder):
        if progress is not None:
            progress(0, 0)
        pictures, names = draw_procedural_folder(folder)
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        return NearestImages(pictures, names)
    if not folder or not Path(folder).is_dir():
        raise UserError(f"The training images of {project.name} are not on this computer "
                        f"({folder or 'no folder is recorded'}), so there is nothing to compare with.")
    cfg = config_from_dict(DataConfig, project.meta["data"].get("config"))
    dataset = prepare_dataset(folder, cfg, progress=progress, should_cancel=should_cancel)
    return NearestImages.from_dataset(dataset)
