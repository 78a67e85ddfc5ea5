"""Inference with a trained generator, independent of any running trainer.

A `GeneratorModel` owns its own copy of the EMA generator on its device, stays warm, and turns
latents into uint8 pictures. Whoever creates it owns it (one thread at a time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from studio.engine.config import config_from_dict
from studio.engine.device import pick_device
from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import to_uint8
from studio.engine.models import get_kind
from studio.engine.models.kind import ModelKind
from studio.engine.project.checkpoints import checkpoints_to_try, load_checkpoint
from studio.engine.project.folder import Project
from studio.engine.train.protocol import load_module


def latents_for_seed(seed: int, count: int, z_dim: int) -> torch.Tensor:
    """The latents of `count` images for a seed: same seed, same images, on any machine."""
    return torch.randn(count, z_dim, generator=torch.Generator().manual_seed(seed))


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

    @property
    def z_dim(self) -> int:
        return self.kind.z_dim(self.cfg)

    @torch.inference_mode()
    def generate(self, z: torch.Tensor | np.ndarray) -> np.ndarray:
        """Latents (B, z_dim) -> uint8 pictures (B, H, W, C)."""
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim == 1:
            z = z[None]
        if z.shape[-1] != self.z_dim:
            raise ValueError(f"latents must have {self.z_dim} values, got {z.shape[-1]}")
        return np.concatenate([to_uint8(self.G(c.to(self.device))) for c in z.split(64)])

    def generate_seeded(self, count: int, seed: int) -> np.ndarray:
        return self.generate(latents_for_seed(seed, count, self.z_dim))


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
