"""Training the original GAN: the non-saturating loss of the paper's section 3, Adam, EMA generator."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import make_grid, to_uint8
from studio.engine.models.gan.kind import SIZES
from studio.engine.models.gan.nets import Discriminator, Generator
from studio.engine.train.distributed import SINGLE, DistInfo
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


@dataclass(frozen=True)
class GANConfig:
    size: int = 32  # image side in pixels: 28, 32, 48 or 64
    channels: int = 3  # 1 grey, 3 RGB, 4 RGBA (from the dataset)
    z_dim: int = 100  # length of the noise vector z
    width: int = 128  # hidden width: G has w, 2w, 4w units, D has 2w, w (128 learnt faces fastest per CPU minute)
    batch: int = 64  # images per step
    lr: float = 2e-4  # Adam learning rate for both networks
    beta1: float = 0.5  # Adam beta1: less momentum keeps the two-player game from oscillating
    beta2: float = 0.999
    ema_decay: float = 0.999  # generator weight averaging for samples/export
    dropout: float = 0.3  # dropout on D's hidden layers (the paper's regulariser for D)
    maxout: int = 0  # pieces per maxout unit in D as in the paper (e.g. 5; D's arithmetic x pieces); 0 = LeakyReLU
    flip: bool = True  # random horizontal flips of real images
    preview_count: int = 64  # images in the fixed-noise sample grid
    precision: str = "auto"  # auto | fp32 | bf16 autocast; auto = fp32, the only path its kind approves so far

    @property
    def channels_last(self) -> bool:
        return False  # what TrainerBase asks: no image-shaped activations, so no memory layout to pick

    def validate(self) -> None:
        if self.size not in SIZES:
            raise UserError(f"The GAN's size must be one of {', '.join(map(str, SIZES))} px (got {self.size}).")
        if self.channels not in (1, 3, 4):
            raise UserError(f"The GAN supports 1, 3 or 4 channels (got {self.channels}).")
        if self.batch < 2:
            raise UserError("The batch must be at least 2 images (BatchNorm needs more than one).")
        if not 1 <= self.width <= 1024:  # G's last layer alone holds 4 * width * C*H*W weights
            raise UserError(f"The network width must be between 1 and 1,024 (got {self.width}).")
        if not 0 <= self.dropout < 1:
            raise UserError(f"Dropout must be at least 0 and below 1 (got {self.dropout}).")
        if self.maxout < 0 or self.maxout == 1:
            raise UserError(f"Maxout needs 2 or more pieces per unit, or 0 for none (got {self.maxout}).")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"Precision must be auto, fp32 or bf16 (got {self.precision}).")


class GANTrainer(TrainerBase):
    """One GAN training state: nets, optimizers, EMA, data order and RNG.

    Owned by one thread at a time (the training thread); `generator_state()` hands a CPU copy to others.
    `images` is the prepared uint8 dataset (N, C, H, W)."""

    kind = "gan"
    min_batch = 2  # G's BatchNorm needs more than one image

    def __init__(self, cfg: GANConfig, images: torch.Tensor, device: torch.device | str = "cpu", seed: int = 0,
                 dist_info: DistInfo = SINGLE):
        # No image-shaped activations, so no channels_last; bf16 on a CPU is not measured for this kind.
        super().__init__(cfg, device, seed, dist_info, cpu_channels_last=False)
        if images.ndim != 4 or images.shape[1:] != (cfg.channels, cfg.size, cfg.size) or images.dtype != torch.uint8:
            want = f"(N, {cfg.channels}, {cfg.size}, {cfg.size})"
            raise ValueError(f"images must be uint8 {want}, got {tuple(images.shape)}")
        if len(images) == 0:
            raise UserError("The dataset is empty.")
        self.images = images.to(self.device)  # resident: no per-step decode or host->device copy

        nets = self._make_nets(seed, lambda: {  # PyTorch's default Linear initialisation, from the run's seed
            "G": Generator(cfg.size, cfg.z_dim, cfg.width, cfg.channels),
            "D": Discriminator(cfg.size, cfg.width, cfg.channels, cfg.dropout, cfg.maxout),
        })
        self.G, self.D = nets["G"], nets["D"]
        self.ema = EMA(self.G, cfg.ema_decay)
        self._G, self._D = self._parallel(self.G, self.D)
        self.opt_G = self._adam(self.G.parameters())
        self.opt_D = self._adam(self.D.parameters())
        self.fixed_z = torch.randn(cfg.preview_count, cfg.z_dim, generator=torch.Generator().manual_seed(seed + 2))
        self.data = DataOrder(len(images), self.rng)

    # ----- data --------------------------------------------------------------------------------
    def _real_batch(self) -> torch.Tensor:
        idx = self.data.take(self.batch, self.rng)
        flip = torch.rand(len(idx), generator=self.rng) < 0.5 if self.cfg.flip else None
        x = self.images[self._mine(idx).to(self.device)].float().div_(127.5).sub_(1)  # (B, C, H, W) in [-1, 1]
        if flip is not None:
            x = torch.where(self._mine(flip).to(self.device)[:, None, None, None], x.flip(3), x)
        return x

    def _uniform(self, shape: torch.Size) -> torch.Tensor:
        """Uniform noise for D's dropout masks: drawn for the whole batch from the run's RNG (so a
        checkpoint resumes exactly, and each process masks its own share), this process's rows."""
        return self._mine(torch.rand((self.batch, *shape[1:]), generator=self.rng))

    # ----- protocol ----------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        real = self._real_batch()
        z = self._mine(torch.randn(self.batch, self.cfg.z_dim, generator=self.rng)).to(self.device)
        with self._autocast():
            fake = self._G(z)
        # D ascends log D(x) + log(1 - D(G(z))), written as BCE-with-logits in its stable softplus
        # form; one backward pass per term, the pattern DDP needs when a module runs twice per step.
        self.opt_D.zero_grad(set_to_none=True)
        with self._autocast():
            d_real = self._D(real, self._uniform)
            loss_real = F.softplus(-d_real).mean()
        loss_real.backward()
        with self._autocast():
            d_fake = self._D(fake.detach(), self._uniform)
            loss_fake = F.softplus(d_fake).mean()
        loss_fake.backward()
        self.opt_D.step()

        # G maximises log D(G(z)) rather than minimising log(1 - D(G(z))): the same fixed point, but
        # strong gradients early on, when D rejects every sample (the paper's section 3). D's
        # weights are frozen here, so it runs bare (its DDP wrapper expects weight gradients).
        self.D.requires_grad_(False)
        try:
            with self._autocast():
                loss_g = F.softplus(-self.D(fake, self._uniform)).mean()
            self.opt_G.zero_grad(set_to_none=True)
            loss_g.backward()
        finally:
            self.D.requires_grad_(True)
        self.opt_G.step()
        self.ema.update()
        self.global_step += 1
        return self._report({
            "loss_D": loss_real.detach() + loss_fake.detach(),
            "loss_G": loss_g,
            "D_real": torch.sigmoid(d_real.detach().float()).mean(),
            "D_fake": torch.sigmoid(d_fake.detach().float()).mean(),
        })

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> np.ndarray:
        """EMA generator on `z` (B, z_dim) -> uint8 (B, H, W, C). Training thread only."""
        self._prepare_ema()
        return to_uint8(torch.cat([self.ema.ema(c.to(self.device)) for c in z.split(64)]))

    def quality(self, count: int = 256) -> dict[str, float]:
        """SWD (x1e3, lower is better) between `count` EMA samples and a fixed subset of the training
        images, and diversity (sample spread over the data's; near 0 means collapse). Never touches
        the training RNG."""
        g = torch.Generator().manual_seed(4242)
        z = torch.randn(count, self.cfg.z_dim, generator=g)
        idx = torch.randperm(len(self.images), generator=g)[:count]
        fake = self.generate(z)
        real = self.images[idx.to(self.device)].permute(0, 2, 3, 1).cpu().numpy()
        spread = max(float(real.astype(np.float32).std(axis=0).mean()), 1e-6)
        return {"swd": swd(fake, real), "diversity": float(fake.astype(np.float32).std(axis=0).mean() / spread)}

    def samples(self) -> np.ndarray:
        return make_grid(self.generate(self.fixed_z))

    def _prepare_ema(self) -> None:
        # The EMA weights do not match the BatchNorm statistics copied from the live G: re-estimate
        # them from fixed noise (deterministic, and never from the training RNG).
        g = torch.Generator().manual_seed(12345)
        self.ema.ema.eval()
        recalibrate_batchnorm(self.ema.ema, lambda i: torch.randn(64, self.cfg.z_dim, generator=g).to(self.device))

    def generator_state(self) -> dict[str, torch.Tensor]:
        self._prepare_ema()
        return cpu_copy(self.ema.ema.state_dict())

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors = {
            **module_tensors("G", self.G),
            **module_tensors("D", self.D),
            **module_tensors("G_ema", self.ema.ema),
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
        nets = (("G", self.G), ("D", self.D), ("G_ema", self.ema.ema))
        for prefix, module in nets:  # all checked before any is changed: a bad file leaves the trainer as it was
            check_module_tensors(prefix, module, tensors)
        for prefix, module in nets:
            load_module(prefix, module, tensors)
        load_optimizer("opt_G", self.opt_G, tensors, meta["opt_G"])
        load_optimizer("opt_D", self.opt_D, tensors, meta["opt_D"])
        self.rng.set_state(tensors["rng"])
        self.data.restore(tensors["order"], int(meta["cursor"]), len(self.images), self.rng)
        self.fixed_z = tensors["fixed_z"].clone()
        self._set_batch(int(meta.get("batch", self.cfg.batch)))
        self.global_step = int(meta["global_step"])
        self.ema.updates = int(meta.get("ema_updates", self.global_step))
