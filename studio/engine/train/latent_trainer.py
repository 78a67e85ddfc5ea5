"""What every kind that makes images from noise shares (`Capabilities.latent_space`): a generator G
and a critic D trained on one image folder, an EMA copy of G for samples, quality and export,
fixed preview noise, and the checkpoint state of all of it.

A kind's trainer subclasses `LatentTrainer`, builds its G and D with `_make_nets`, hands them to
`_use_nets`, and writes its own `step()` (through `self._G` / `self._D`, which are data-parallel
when training on several processes). Its config needs z_dim, ema_decay and preview_count besides
what `TrainerBase` reads.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from studio.engine.config import config_to_dict
from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import make_grid, to_uint8
from studio.engine.train.metrics import swd
from studio.engine.train.protocol import (
    EMA,
    cpu_copy,
    module_tensors,
    recalibrate_batchnorm,
    require,
    store_optimizers,
)
from studio.engine.train.run_state import meta_int
from studio.engine.train.trainer_base import DataOrder, TrainerBase


class LatentTrainer(TrainerBase):
    """TrainerBase plus G, D, their EMA generator and fixed preview noise over `images`.

    A conditional kind hands `_use_images` the class of each image: G and D are then called with
    classes as well (`G(z, c)`, `D(x, c)`), fakes get classes drawn from the data's class shares (or
    evenly with `balanced`), and the preview grid shows one class per row."""

    labels: torch.Tensor | None = None  # class of each image (N,) on the device; None: unconditional
    num_classes: int = 0
    balanced: bool = False  # draw classes evenly (real and fake) instead of as often as the data has them

    def _use_images(self, images: torch.Tensor, labels: torch.Tensor | None = None, num_classes: int = 0,
                    balanced: bool = False) -> None:
        """Keep the prepared uint8 dataset (N, C, size, size) on the device: no per-step decode or copy.
        `labels`: the class (0..num_classes-1) of each image, for a conditional model."""
        cfg = self.cfg
        if images.ndim != 4 or images.shape[1:] != (cfg.channels, cfg.size, cfg.size) or images.dtype != torch.uint8:
            want = f"(N, {cfg.channels}, {cfg.size}, {cfg.size})"
            raise ValueError(f"images must be uint8 {want}, got {tuple(images.shape)}")
        if len(images) == 0:
            raise UserError("The dataset is empty.")
        self.images = images.to(self.device)
        if labels is not None:
            labels = torch.as_tensor(labels, dtype=torch.long)
            if labels.shape != (len(images),) or num_classes < 1 or int(labels.max()) >= num_classes:
                raise ValueError(f"labels must be (N,) classes below {num_classes}")
            self.labels, self.num_classes, self.balanced = labels.to(self.device), num_classes, balanced
            # fakes get classes as often as the data has them, so G practises each class as often as D sees it
            counts = torch.bincount(labels, minlength=num_classes)
            self.class_freq = counts.float() / counts.sum()
            # balanced draws: a class that has images, then one of them; the images of class k are
            # by_class[starts[k] : starts[k] + counts[k]]
            self._present = torch.nonzero(counts).flatten()
            self._by_class = torch.argsort(labels, stable=True)
            self._class_counts, self._class_starts = counts, torch.cumsum(counts, 0) - counts

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
        if self.num_classes:  # one class per row of the preview grid (rows cycle when classes outnumber them)
            per_row = math.ceil(math.sqrt(self.cfg.preview_count))
            self.fixed_c = (torch.arange(self.cfg.preview_count) // per_row) % self.num_classes
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
        return self._real_batch_labelled()[0]

    def _real_batch_labelled(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`_real_batch` and the images' classes (B,) (None when unconditional)."""
        idx = self._balanced_indices() if self.balanced else self.data.take(self.batch, self.rng)
        flip = torch.rand(len(idx), generator=self.rng) < 0.5 if self.cfg.flip else None
        idx = self._mine(idx)
        x = self.images[idx.to(self.images.device)].float().div_(127.5).sub_(1)
        if flip is not None:
            flip = self._mine(flip).to(self.device)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        y = self.labels[idx.to(self.labels.device)] if self.labels is not None else None
        return x.contiguous(memory_format=self.memory_format), y

    def _balanced_indices(self) -> torch.Tensor:
        # a class drawn evenly, then one of its images: a rare class is seen as often as a common one
        k = self._present[torch.randint(0, len(self._present), (self.batch,), generator=self.rng)]
        pos = (torch.rand(self.batch, generator=self.rng) * self._class_counts[k]).long()
        return self._by_class[self._class_starts[k] + pos]

    def _fake_labels(self) -> torch.Tensor:
        """This process's share of the classes of the next batch of fakes: drawn as often as the data
        has them (evenly when balanced), so D sees each class among fakes as among real images."""
        p = (self.class_freq > 0).float() if self.balanced else self.class_freq  # multinomial normalises
        return self._mine(torch.multinomial(p, self.batch, replacement=True, generator=self.rng)).to(self.device)

    def _noise(self) -> torch.Tensor:
        """This process's share of the next batch of latent vectors."""
        return self._mine(torch.randn(self.batch, self.cfg.z_dim, generator=self.rng)).to(self.device)

    # ----- inference on the training thread -------------------------------------------------------
    @torch.no_grad()
    def generate(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> np.ndarray:
        """EMA generator on `z` (B, z_dim) -> uint8 (B, H, W, C); a conditional model draws the classes
        `labels` (B,) (or class weights (B, num_classes)). Training thread only."""
        self._prepare_ema()
        if labels is None:
            out = [self.ema.ema(c.to(self.device)) for c in z.split(64)]
        else:
            out = [self.ema.ema(c.to(self.device), y.to(self.device)) for c, y in zip(z.split(64), labels.split(64))]
        return to_uint8(torch.cat(out))

    def quality(self, count: int = 256) -> dict[str, float]:
        """Offline quality of the EMA generator: SWD (x1e3, lower is better) between `count` fixed-noise
        samples and a fixed subset of the training images, and diversity (sample spread relative to the
        data's; near 0 means collapse). Training thread only; never touches the training RNG."""
        g = torch.Generator().manual_seed(4242)
        z = torch.randn(count, self.cfg.z_dim, generator=g)
        idx = torch.randperm(len(self.images), generator=g)[:count]
        labels = torch.multinomial(self.class_freq, count, replacement=True, generator=g) if self.num_classes else None
        fake = self.generate(z, labels)
        real = self.images[idx.to(self.images.device)].permute(0, 2, 3, 1).cpu().numpy()
        spread = real.astype(np.float32).std(axis=0).mean()
        diversity = fake.astype(np.float32).std(axis=0).mean() / max(float(spread), 1e-6)
        return {"swd": swd(fake, real), "diversity": float(diversity)}

    def samples(self) -> np.ndarray:
        labels = self.fixed_c if self.num_classes else None
        return make_grid(self.generate(self.fixed_z, labels))  # square-ish: ceil(sqrt(n)) per row

    def _prepare_ema(self) -> None:
        # The EMA weights do not match the BatchNorm statistics copied from the live G: re-estimate
        # them from fixed noise (deterministic, and independent of the training RNG so samples never
        # change the run).
        g = torch.Generator().manual_seed(12345)
        self.ema.ema.eval()
        G = _WithClasses(self.ema.ema, self.class_freq, g) if self.num_classes else self.ema.ema
        recalibrate_batchnorm(G, lambda i: torch.randn(64, self.cfg.z_dim, generator=g).to(self.device), batches=4)

    def generator_state(self) -> dict[str, torch.Tensor]:
        self._prepare_ema()
        return cpu_copy(self.ema.ema.state_dict())

    def started_from_parent(self, fresh: list[str]) -> list[str]:
        """Called once a fine-tune's weights are copied in (models/finetune.py's `transfer`), with the
        names of the tensors the parent had nothing for ("D.b64.conv0.weight"); a kind whose training
        must treat a fresh critic differently overrides it. Returns sentences for the user (the
        project's record of what was adapted)."""
        return []

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
            "config": config_to_dict(self.cfg),
            "global_step": self.global_step,
            "cursor": self.data.cursor,
            "batch": self.batch,
            "ema_updates": self.ema.updates,
            **store_optimizers(tensors, opt_G=self.opt_G, opt_D=self.opt_D),
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        # Everything is read and checked before anything is loaded, so a bad file leaves the trainer unchanged.
        nets = dict(self._modules())
        run = self._read_run_state(tensors, meta, nets, {"order": "cursor"})
        require(tensors, "fixed_z")
        if tensors["fixed_z"].shape != self.fixed_z.shape:
            raise CheckpointError("The checkpoint's preview noise does not fit this model.")
        ema_updates = meta_int(meta, "ema_updates", default=run.step)
        self._load_run_state(tensors, nets, run)
        self.data.restore(tensors["order"], run.cursors["order"], len(self.images), self.rng)
        self.fixed_z = tensors["fixed_z"].clone()
        self.ema.updates = ema_updates


class _WithClasses(nn.Module):
    """A conditional G called with noise alone: classes drawn from `freq` with the generator `g`
    (re-estimating BatchNorm statistics over the classes as the data has them)."""

    def __init__(self, G: nn.Module, freq: torch.Tensor, g: torch.Generator):
        super().__init__()
        self.G, self.freq, self.g = G, freq, g

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c = torch.multinomial(self.freq, len(z), replacement=True, generator=self.g)
        return self.G(z, c.to(z.device))
