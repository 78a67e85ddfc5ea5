"""Inference with a trained generator, independent of any running trainer.

A `GeneratorModel` owns its own copy of the EMA generator on its device, stays warm, and turns
latents into uint8 pictures. Whoever creates it owns it (one thread at a time).

Kinds with `capabilities.style_space` also have the style space W (`spaces == ("z", "w")`): `to_w`
maps z to w (with truncation towards `w_avg`), `generate_w` draws from w or per-layer ws, and
`layer_groups` / `mix` give style mixing by coarse / middle / fine layers (`style_space.py`).
Everyone (explorer, projection, exports) goes through these, never through the net's insides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from studio.engine.config import config_from_dict
from studio.engine.device import pick_device
from studio.engine.errors import CheckpointError, UserError
from studio.engine.explore import style_space as S
from studio.engine.explore.latent import truncate
from studio.engine.images import to_uint8
from studio.engine.models import get_kind
from studio.engine.models.kind import ModelKind
from studio.engine.project.checkpoints import checkpoints_to_try, load_checkpoint
from studio.engine.project.folder import Project
from studio.engine.train.protocol import load_module


def latents_for_seed(seed: int, count: int, z_dim: int) -> torch.Tensor:
    """The latents of `count` images for a seed: same seed, same images, on any machine."""
    return torch.randn(count, z_dim, generator=torch.Generator().manual_seed(seed))


def class_input(labels, count: int, num_classes: int) -> torch.Tensor | None:
    """`labels` as `GeneratorModel.generate` takes them (a class number, numbers (B,), weights (classes,)
    or (B, classes); None: the first class) -> class weights (count, num_classes); None without classes.
    A function of its own so a `spaces.LatentSpace` (its own mapping copy, no model) converts alike."""
    k = num_classes
    if not k:
        if labels is not None:
            raise ValueError("this generator has no classes")
        return None
    if labels is None:
        labels = 0  # the first class, as the generator itself does when given none
    c = torch.as_tensor(labels)
    if not c.dtype.is_floating_point:  # class numbers: one class, or one per picture
        c = torch.nn.functional.one_hot(c.long().reshape(-1) % k, k).float()
    c = c.float().reshape(-1, k)
    return c.expand(count, k) if len(c) == 1 else c


class GeneratorModel:
    """The EMA generator of `kind` (a ModelKind with a latent space: it builds the net), ready for rendering."""

    def __init__(self, cfg, state: dict[str, torch.Tensor], device: torch.device | str = "cpu", step: int = 0, *,
                 kind: ModelKind):
        self.kind = kind
        self.cfg = cfg
        self.step = step
        self.device = torch.device(device)
        self.G = self.kind.make_generator(cfg)
        load_module("G", self.G, {f"G.{k}": v for k, v in state.items()})
        self.G.to(self.device).eval().requires_grad_(False)
        self._centres: dict[bytes, np.ndarray] = {}  # each class's mean w, for truncation (w_centres)

    @property
    def z_dim(self) -> int:
        return self.kind.z_dim(self.cfg)

    @property
    def class_names(self) -> tuple[str, ...]:
        """The classes this generator draws on request; () when it has none (see `generate`)."""
        return self.kind.class_names(self.cfg)

    def class_input(self, labels, count: int) -> torch.Tensor | None:
        """`labels` as `generate` takes them -> class weights (count, classes); None without classes."""
        return class_input(labels, count, len(self.class_names))

    @torch.inference_mode()
    def generate(self, z: torch.Tensor | np.ndarray, labels=None, psi: float = 1.0) -> np.ndarray:
        """Latents (B, z_dim) -> uint8 pictures (B, H, W, C).

        `labels`, for a generator with classes (`class_names`): a class number for all pictures, one
        per picture (B,), or class weights (classes,) / (B, classes), where a mix of two classes is a
        point on the way between them (the class walk). None: the first class. `psi` < 1: truncated,
        more typical pictures: the z pulled towards zero, or for a style-based generator (whose
        mapping gives every z the same length) the styles towards w_avg."""
        if psi != 1.0:
            if "w" in self.spaces:
                return self.generate_w(self.to_ws(z, psi, labels))
            z = truncate(np.asarray(z, dtype=np.float32), psi)
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim == 1:
            z = z[None]
        if z.shape[-1] != self.z_dim:
            raise ValueError(f"latents must have {self.z_dim} values, got {z.shape[-1]}")
        c = self.class_input(labels, len(z))
        if c is None:
            return np.concatenate([to_uint8(self.G(part.to(self.device))) for part in z.split(64)])
        return np.concatenate([to_uint8(self.G(part.to(self.device), cp.to(self.device)))
                               for part, cp in zip(z.split(64), c.split(64))])

    def generate_seeded(self, count: int, seed: int) -> np.ndarray:
        return self.generate(latents_for_seed(seed, count, self.z_dim))

    # ----- the style space W (kinds with capabilities.style_space) ----------------------------------
    @property
    def spaces(self) -> tuple[str, ...]:
        """The latent spaces this generator can be explored in: ("z",) or ("z", "w")."""
        return ("z", "w") if self.kind.capabilities.style_space else ("z",)

    @property
    def default_space(self) -> str:
        """The space a newly opened model is explored in: W where there is one (as StyleGAN's own
        tools: interpolations there are smoother, and style mixing and projected photos live there),
        else z."""
        return "w" if "w" in self.spaces else "z"

    def _need_w(self) -> None:
        if "w" not in self.spaces:
            raise ValueError(f"a {self.kind.title} generator has no style space W")

    @property
    def num_ws(self) -> int:
        """Styles the synthesis takes, one per layer input (2 * log2(size) - 2)."""
        self._need_w()
        return int(self.G.num_ws)

    @property
    def w_dim(self) -> int:
        self._need_w()
        return int(self.G.w_dim)

    @property
    def w_avg(self) -> np.ndarray:
        """The average w tracked during training (w_dim,): the centre truncation pulls towards (with
        classes, each class's own mean instead: `w_centres`)."""
        self._need_w()
        return self.G.mapping.w_avg.detach().float().cpu().numpy().copy()

    @torch.inference_mode()
    def to_w(self, z: torch.Tensor | np.ndarray, psi: float = 1.0, labels=None) -> np.ndarray:
        """Latents z (B, z_dim) or (z_dim,) -> w (B, w_dim) float32, truncated by `psi` towards w_avg
        (with classes: towards the class's own mean w, `w_centres`).
        `labels`, for a generator with classes: the class, as `generate` takes it (None: the first);
        the class enters through the mapping, so a w holds its class and `generate_w` needs none."""
        self._need_w()
        z = torch.as_tensor(np.ascontiguousarray(z, dtype=np.float32))
        if z.ndim == 1:
            z = z[None]
        if z.shape[-1] != self.z_dim:
            raise ValueError(f"latents must have {self.z_dim} values, got {z.shape[-1]}")
        c = self.class_input(labels, len(z))  # None without classes: the mapping takes no class then
        if c is not None and psi != 1.0:  # towards each picture's class's own mean w (S.class_centres)
            return S.truncate_w(self.to_w(z, 1.0, c), psi, self.w_centres(c, len(z)))
        classes = [None] * len(z.split(1024)) if c is None else [cp.to(self.device) for cp in c.split(1024)]
        out = [self.G.mapping(part.to(self.device), psi=psi, c=cp)[:, 0] for part, cp in zip(z.split(1024), classes)]
        return torch.cat(out).float().cpu().numpy()

    def w_centres(self, labels=None, count: int = 1) -> np.ndarray:
        """What truncation pulls `count` pictures' w towards (count, w_dim): w_avg, or for a generator
        with classes each one's class's own mean w (`labels` as `generate` takes them)."""
        self._need_w()
        c = self.class_input(labels, count)
        if c is None:
            return np.tile(self.w_avg, (count, 1))
        return S.class_centres(lambda z, rows: self.to_w(z, 1.0, rows), c.cpu().numpy(), self.z_dim, self._centres)

    def to_ws(self, z: torch.Tensor | np.ndarray, psi: float = 1.0, labels=None) -> np.ndarray:
        """Latents z -> ws (B, num_ws, w_dim): the same w on every layer (`labels`: as `to_w`)."""
        return S.as_ws(self.to_w(z, psi, labels), self.num_ws, self.w_dim)

    def as_ws(self, w) -> np.ndarray:
        """Styles in any accepted form (see `style_space.as_ws`) -> (B, num_ws, w_dim) float32."""
        return S.as_ws(w, self.num_ws, self.w_dim)

    @torch.inference_mode()
    def generate_w(self, ws) -> np.ndarray:
        """Styles -> uint8 pictures (B, H, W, C): one w (w_dim,), w (B, w_dim) on every layer, ws
        (B, num_ws, w_dim) or flat explorer latents (B, num_ws * w_dim). Each layer's noise is its
        fixed buffer, so the same styles always give the same picture."""
        ws = torch.from_numpy(np.ascontiguousarray(self.as_ws(ws)))
        return np.concatenate([to_uint8(self.G.synthesis(c.to(self.device)).clamp(-1, 1)) for c in ws.split(64)])

    def layer_groups(self) -> dict[str, slice]:
        """"coarse" / "middle" / "fine" -> the ws rows they style (see `style_space.layer_groups`)."""
        return S.layer_groups(self.num_ws)

    def latent_space(self, name: str = "z"):
        """The `spaces.LatentSpace` called `name` ("z" or "w"), with its own copy of the mapping:
        hand it to other threads (the explorer's views map seeds to w with it)."""
        from studio.engine.explore import spaces

        if name not in self.spaces:
            raise ValueError(f"a {self.kind.title} generator has no space '{name}'")
        if name == "z":  # a mapping network normalises z: its truncation is the styles' (LatentSpace.truncatable)
            return spaces.z_space(self.z_dim, truncatable="w" not in self.spaces)
        if getattr(self, "_w_space", None) is None:
            self._w_space = spaces.w_space(self.G.mapping, self.z_dim, self.num_ws, self.w_dim,
                                           num_classes=len(self.class_names))
        return self._w_space

    def generate_in(self, latents, space: str = "z") -> np.ndarray:
        """Explorer latents of `space` -> uint8 pictures: `generate` for z, `generate_w` for w."""
        if space == "z":
            return self.generate(latents)
        if space == "w":
            return self.generate_w(latents)
        raise ValueError(f"unknown latent space '{space}'")

    def mix(self, ws_a, ws_b, group: str | tuple[str, ...]) -> np.ndarray:
        """The `group` styles of ws_a (e.g. "coarse", or several names), the other layers' from ws_b:
        (B, num_ws, w_dim), ready for `generate_w`."""
        return S.mix(ws_a, ws_b, group, self.num_ws, self.w_dim)


def load_generator(project_dir: Path | str, checkpoint: Path | str | None = None,
                   device: str = "auto") -> GeneratorModel:
    """Load the EMA generator of a project's latest (or a given) checkpoint; its kind must have a latent space."""
    project = Project.open(project_dir)
    kind = get_kind(project.kind)
    if not kind.capabilities.latent_space:
        raise UserError(f"{project_dir} is a {kind.title} project, which makes no new images from noise; "
                        "this needs a project that does (such as a DCGAN).")
    candidates = checkpoints_to_try(project, checkpoint)
    last_error = None
    for path in candidates:
        try:
            tensors, meta = load_checkpoint(path)
            cfg = config_from_dict(kind.config_cls, meta.get("config") or project.meta.get("model"))
            state = {k[len("G_ema.") :]: v for k, v in tensors.items() if k.startswith("G_ema.")}
            return GeneratorModel(cfg, state, pick_device(device), step=int(meta.get("step", 0)), kind=kind)
        except CheckpointError as e:
            last_error = e
    raise last_error
