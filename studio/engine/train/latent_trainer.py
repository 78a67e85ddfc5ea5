"""What every kind that makes images from noise shares (`Capabilities.latent_space`): a generator G
and a critic D trained on one image folder, an EMA copy of G for samples, quality and export,
fixed preview noise, and the checkpoint state of all of it.

A kind's trainer subclasses `LatentTrainer`, builds its G and D with `_make_nets`, hands them to
`_use_nets`, and writes its own `step()` (through `self._G` / `self._D`, which are data-parallel
when training on several processes). Its config needs z_dim, ema_decay and preview_count besides
what `TrainerBase` reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import make_grid, to_uint8
from studio.engine.train.metrics import swd
from studio.engine.train.protocol import (
    EMA,
    check_module_tensors,
    cpu_copy,
    load_module,
    load_optimizer,
    module_tensors,
    recalibrate_batchnorm,
    require,
    store_optimizers,
)
from studio.engine.train.trainer_base import DataOrder, TrainerBase


class LatentTrainer(TrainerBase):
    """TrainerBase plus G, D, their EMA generator and fixed preview noise over `images`."""

    def _use_images(self, images: torch.Tensor) -> None:
        """Keep the prepared uint8 dataset (N, C, size, size) on the device: no per-step decode or copy."""
        cfg = self.cfg
        if images.ndim != 4 or images.shape[1:] != (cfg.channels, cfg.size, cfg.size) or images.dtype != torch.uint8:
            want = f"(N, {cfg.channels}, {cfg.size}, {cfg.size})"
            raise ValueError(f"images must be uint8 {want}, got {tuple(images.shape)}")
        if len(images) == 0:
            raise UserError("The dataset is empty.")
        self.images = images.to(self.device)

    def _use_nets(self, G: nn.Module, D: nn.Module, seed: int,
                  adapt: Callable[[nn.Module], None] | None = None,
                  frozen: Callable[[nn.Module], list[nn.Module]] | None = None) -> None:
        """Train `G` and `D` (already on the device): their EMA, optimizers, preview noise and data order.
        `adapt` changes how both nets compute (not what) after the EMA copy is taken, which stays plain
        for export. `frozen(D)`: D's modules that never train (FreezeD), fixed before any data-parallel
        wrapper is made, which must not expect their gradients."""
        self.G, self.D = G, D
        self.ema = EMA(G, self.cfg.ema_decay)
        if adapt is not None:
            adapt(G)
            adapt(D)
        self._frozen_D = [p for m in (frozen(D) if frozen is not None else ()) for p in m.parameters()]
        self._d_trainable()
        self._G, self._D = self._parallel(G, D)
        self.opt_G = self._adam(G.parameters())
        self.opt_D = self._adam(D.parameters())
        self.fixed_z = torch.randn(self.cfg.preview_count, self.cfg.z_dim,
                                   generator=torch.Generator().manual_seed(seed + 2))
        self.data = DataOrder(len(self.images), self.rng)

    def _d_trainable(self) -> None:
        """D's parameters back to training after a pass through it frozen, but for FreezeD's blocks."""
        self.D.requires_grad_(True)
        for p in self._frozen_D:
            p.requires_grad_(False)

    # ----- the step's inputs -------------------------------------------------------------------
    def _real_batch(self) -> torch.Tensor:
        """This process's share of the next batch of real images, randomly mirrored when cfg.flip,
        as floats in [-1, 1] (B, C, H, W)."""
        idx = self.data.take(self.batch, self.rng)
        flip = torch.rand(len(idx), generator=self.rng) < 0.5 if self.cfg.flip else None
        idx = self._mine(idx)
        x = self.images[idx.to(self.images.device)].float().div_(127.5).sub_(1)
        if flip is not None:
            flip = self._mine(flip).to(self.device)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x.contiguous(memory_format=self.memory_format)

    def _noise(self) -> torch.Tensor:
        """This process's share of the next batch of latent vectors."""
        return self._mine(torch.randn(self.batch, self.cfg.z_dim, generator=self.rng)).to(self.device)

    # ----- inference on the training thread -------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> np.ndarray:
        """EMA generator on `z` (B, z_dim) -> uint8 (B, H, W, C). Training thread only."""
        self._prepare_ema()
        out = [self.ema.ema(c.to(self.device)) for c in z.split(64)]
        return to_uint8(torch.cat(out))

    def quality(self, count: int = 256) -> dict[str, float]:
        """Offline quality of the EMA generator: SWD (x1e3, lower is better) between `count` fixed-noise
        samples and a fixed subset of the training images, and diversity (sample spread relative to the
        data's; near 0 means collapse). Training thread only; never touches the training RNG."""
        g = torch.Generator().manual_seed(4242)
        z = torch.randn(count, self.cfg.z_dim, generator=g)
        idx = torch.randperm(len(self.images), generator=g)[:count]
        fake = self.generate(z)
        real = self.images[idx.to(self.images.device)].permute(0, 2, 3, 1).cpu().numpy()
        spread = real.astype(np.float32).std(axis=0).mean()
        diversity = fake.astype(np.float32).std(axis=0).mean() / max(float(spread), 1e-6)
        return {"swd": swd(fake, real), "diversity": float(diversity)}

    def samples(self) -> np.ndarray:
        return make_grid(self.generate(self.fixed_z))  # square-ish: ceil(sqrt(n)) per row

    def _prepare_ema(self) -> None:
        # The EMA weights do not match the BatchNorm statistics copied from the live G: re-estimate
        # them from fixed noise (deterministic, and independent of the training RNG so samples never
        # change the run).
        g = torch.Generator().manual_seed(12345)
        self.ema.ema.eval()
        recalibrate_batchnorm(
            self.ema.ema, lambda i: torch.randn(64, self.cfg.z_dim, generator=g).to(self.device), batches=4
        )

    def generator_state(self) -> dict[str, torch.Tensor]:
        self._prepare_ema()
        return cpu_copy(self.ema.ema.state_dict())

    # ----- checkpoints -------------------------------------------------------------------------
    def _modules(self) -> tuple[tuple[str, nn.Module], ...]:
        return ("G", self.G), ("D", self.D), ("G_ema", self.ema.ema)

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors = {
            **{k: v for prefix, module in self._modules() for k, v in module_tensors(prefix, module).items()},
            "rng": self.rng.get_state(),
            "order": self.data.order.clone(),
            "fixed_z": self.fixed_z,
        }
        meta = {
            "kind": self.kind,
            "config": dataclasses.asdict(self.cfg),
            "global_step": self.global_step,
            "cursor": self.data.cursor,
            "batch": self.batch,
            "ema_updates": self.ema.updates,
            **store_optimizers(tensors, opt_G=self.opt_G, opt_D=self.opt_D),
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        self._check_kind(meta)
        require(tensors, "rng", "order", "fixed_z")
        if tensors["fixed_z"].shape != self.fixed_z.shape:
            raise CheckpointError("checkpoint preview noise does not fit this model")
        # Validate every network before touching any, so a bad file leaves the trainer unchanged.
        for prefix, module in self._modules():
            check_module_tensors(prefix, module, tensors)
        for prefix, module in self._modules():
            load_module(prefix, module, tensors)
        load_optimizer("opt_G", self.opt_G, tensors, meta["opt_G"])
        load_optimizer("opt_D", self.opt_D, tensors, meta["opt_D"])
        self.rng.set_state(tensors["rng"])
        self.data.restore(tensors["order"], int(meta["cursor"]), len(self.images), self.rng)
        self.fixed_z = tensors["fixed_z"].clone()
        self._set_batch(int(meta.get("batch", self.cfg.batch)))
        self.global_step = int(meta["global_step"])
        self.ema.updates = int(meta.get("ema_updates", self.global_step))
