"""Inference with a trained generator, independent of any running trainer.

A `GeneratorModel` owns its own copy of the EMA generator on its device, stays warm, and turns
latents into uint8 pictures. Whoever creates it owns it (one thread at a time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from studio.engine.checkpoint import checkpoints_to_try, load_checkpoint
from studio.engine.config import config_from_dict
from studio.engine.dcgan_trainer import DCGANConfig
from studio.engine.device import pick_device
from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import to_uint8
from studio.engine.nets.dcgan import Generator
from studio.engine.project import Project
from studio.engine.trainer import load_module


def latents_for_seed(seed: int, count: int, z_dim: int) -> torch.Tensor:
    """The latents of `count` images for a seed: same seed, same images, on any machine."""
    return torch.randn(count, z_dim, generator=torch.Generator().manual_seed(seed))


class GeneratorModel:
    """A DCGAN EMA generator ready for rendering."""

    def __init__(self, cfg: DCGANConfig, state: dict[str, torch.Tensor], device: torch.device | str = "cpu", step: int = 0):
        self.cfg = cfg
        self.step = step
        self.device = torch.device(device)
        self.G = Generator(cfg.size, cfg.z_dim, cfg.ngf, cfg.channels)
        load_module("G", self.G, {f"G.{k}": v for k, v in state.items()})
        self.G.to(self.device).eval().requires_grad_(False)

    @property
    def z_dim(self) -> int:
        return self.cfg.z_dim

    @torch.inference_mode()
    def generate(self, z: torch.Tensor | np.ndarray) -> np.ndarray:
        """Latents (B, z_dim) -> uint8 pictures (B, H, W, C)."""
        z = torch.as_tensor(z, dtype=torch.float32)
        if z.ndim == 1:
            z = z[None]
        if z.shape[-1] != self.cfg.z_dim:
            raise ValueError(f"latents must have {self.cfg.z_dim} values, got {z.shape[-1]}")
        return np.concatenate([to_uint8(self.G(c.to(self.device))) for c in z.split(64)])

    def generate_seeded(self, count: int, seed: int) -> np.ndarray:
        return self.generate(latents_for_seed(seed, count, self.cfg.z_dim))


def load_generator(project_dir: Path | str, checkpoint: Path | str | None = None, device: str = "auto") -> GeneratorModel:
    """Load the EMA generator of a DCGAN project's latest (or a given) checkpoint."""
    project = Project.open(project_dir)
    if project.kind != "dcgan":
        raise UserError(f"{project_dir} is a {project.kind} project; 'generate' needs a DCGAN project")
    candidates = checkpoints_to_try(project, checkpoint)
    last_error = None
    for path in candidates:
        try:
            tensors, meta = load_checkpoint(path)
            cfg = config_from_dict(DCGANConfig, meta.get("config") or project.meta.get("model"))
            state = {k[len("G_ema.") :]: v for k, v in tensors.items() if k.startswith("G_ema.")}
            return GeneratorModel(cfg, state, pick_device(device), step=int(meta.get("step", 0)))
        except CheckpointError as e:
            last_error = e
    raise last_error
