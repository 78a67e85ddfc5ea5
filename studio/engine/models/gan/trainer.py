"""Training the original GAN: the non-saturating loss of the paper's section 3, Adam, EMA generator."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from studio.engine.device import fast_path
from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import make_grid, to_uint8
from studio.engine.models.gan.kind import SIZES
from studio.engine.models.gan.nets import Discriminator, Generator
from studio.engine.train.distributed import SINGLE
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


@dataclass(frozen=True)
class GANConfig:
    size: int = 32  # image side in pixels: 28, 32, 48 or 64
    channels: int = 3  # 1 grey, 3 RGB, 4 RGBA (from the dataset)
    z_dim: int = 100  # length of the noise vector z
    width: int = 256  # hidden width: G has w, 2w, 4w units, D has 2w, w
    batch: int = 64  # images per step
    lr: float = 2e-4  # Adam learning rate for both networks
    beta1: float = 0.5  # Adam beta1: less momentum keeps the two-player game from oscillating
    beta2: float = 0.999
    ema_decay: float = 0.999  # generator weight averaging for samples/export
    dropout: float = 0.3  # dropout on D's hidden layers (the paper's regulariser for D)
    maxout: int = 0  # pieces per maxout unit in D as in the paper (e.g. 5); 0 = LeakyReLU, ~2x faster
    flip: bool = True  # random horizontal flips of real images
    preview_count: int = 64  # images in the fixed-noise sample grid
    precision: str = "auto"  # auto | fp32 | bf16 autocast; auto = bf16 on GPUs, fp32 on CPUs

    def validate(self) -> None:
        if self.size not in SIZES:
            raise UserError(f"The GAN's size must be one of {', '.join(map(str, SIZES))} px (got {self.size}).")
        if self.channels not in (1, 3, 4):
            raise UserError(f"The GAN supports 1, 3 or 4 channels (got {self.channels}).")
        if self.batch < 2:
            raise UserError("The batch must be at least 2 images (BatchNorm needs more than one).")
        if not 0 <= self.dropout < 1:
            raise UserError(f"Dropout must be at least 0 and below 1 (got {self.dropout}).")
        if self.maxout < 0 or self.maxout == 1:
            raise UserError(f"Maxout needs 2 or more pieces per unit, or 0 for none (got {self.maxout}).")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"Precision must be auto, fp32 or bf16 (got {self.precision}).")


class GANTrainer:
    """One GAN training state: nets, optimizers, EMA, data order and RNG.

    Owned by one thread at a time (the training thread); `generator_state()` hands a CPU copy to others.
    `images` is the prepared uint8 dataset (N, C, H, W)."""

    kind = "gan"

    def __init__(self, cfg: GANConfig, images: torch.Tensor, device: torch.device | str = "cpu", seed: int = 0):
        cfg.validate()
        if images.ndim != 4 or images.shape[1:] != (cfg.channels, cfg.size, cfg.size) or images.dtype != torch.uint8:
            want = f"(N, {cfg.channels}, {cfg.size}, {cfg.size})"
            raise ValueError(f"images must be uint8 {want}, got {tuple(images.shape)}")
        if len(images) == 0:
            raise UserError("The dataset is empty.")
        self.cfg = cfg
        self.device = torch.device(device)
        self.dist = SINGLE  # one process: the kind does not offer data-parallel training yet
        self.global_step = 0
        self.batch = self.images_per_step = cfg.batch  # may shrink after running out of GPU memory
        self.images = images.to(self.device)
        # Not measured in bf16 on a CPU (bench/quality_check.py covers the DCGAN only): fp32 there.
        self.precision, _ = fast_path(self.device, cfg.precision, False)

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # PyTorch's default Linear initialisation, from the run's seed
            self.G = Generator(cfg.size, cfg.z_dim, cfg.width, cfg.channels).to(self.device)
            self.D = Discriminator(cfg.size, cfg.width, cfg.channels, cfg.dropout, cfg.maxout).to(self.device)
        self.ema = EMA(self.G, cfg.ema_decay)
        kw = dict(lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), foreach=True)
        self.opt_G = torch.optim.Adam(self.G.parameters(), **kw)
        self.opt_D = torch.optim.Adam(self.D.parameters(), **kw)

        # All randomness of the run (data order, flips, noise, D's dropout) flows from this CPU
        # generator, so a checkpoint restores it exactly.
        self.rng = torch.Generator().manual_seed(seed + 1)
        self.fixed_z = torch.randn(cfg.preview_count, cfg.z_dim, generator=torch.Generator().manual_seed(seed + 2))
        self.order = torch.randperm(len(images), generator=self.rng)
        self.cursor = 0

    # ----- data --------------------------------------------------------------------------------
    def _next_indices(self) -> torch.Tensor:
        """Epochs in a shuffled order; sampling with replacement when the folder is smaller than a batch."""
        n, b = len(self.order), self.batch
        if n < b:
            return torch.randint(0, n, (b,), generator=self.rng)
        if self.cursor + b > n:
            self.order, self.cursor = torch.randperm(n, generator=self.rng), 0
        self.cursor += b
        return self.order[self.cursor - b : self.cursor]

    def _real_batch(self) -> torch.Tensor:
        idx = self._next_indices()
        x = self.images[idx.to(self.device)].float().div_(127.5).sub_(1)  # (B, C, H, W) in [-1, 1]
        if self.cfg.flip:
            flip = (torch.rand(len(idx), generator=self.rng) < 0.5).to(self.device)
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x

    def _autocast(self):
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ----- protocol ----------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        real = self._real_batch()
        z = torch.randn(self.batch, self.cfg.z_dim, generator=self.rng).to(self.device)
        with self._autocast():
            fake = self.G(z)
            # D ascends log D(x) + log(1 - D(G(z))), written as BCE-with-logits in its stable softplus form.
            d_real = self.D(real, self.rng)
            d_fake = self.D(fake.detach(), self.rng)
            loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_D.step()

        # G maximises log D(G(z)) rather than minimising log(1 - D(G(z))): the same fixed point, but
        # strong gradients early on, when D rejects every sample (the paper's section 3). D's
        # weights are frozen here: only the gradients flowing back into G are needed.
        self.D.requires_grad_(False)
        try:
            with self._autocast():
                d_gen = self.D(fake, self.rng)
                loss_g = F.softplus(-d_gen).mean()
            self.opt_G.zero_grad(set_to_none=True)
            loss_g.backward()
        finally:
            self.D.requires_grad_(True)
        self.opt_G.step()
        self.ema.update()
        self.global_step += 1
        return {
            "loss_D": float(loss_d.detach()),
            "loss_G": float(loss_g.detach()),
            "D_real": float(torch.sigmoid(d_real.detach().float()).mean()),
            "D_fake": float(torch.sigmoid(d_fake.detach().float()).mean()),
        }

    def reduce_batch(self) -> int | None:
        """Halve the batch after an out-of-memory error; None when it cannot shrink further."""
        if self.batch <= 2:
            return None
        self.batch = self.images_per_step = max(2, self.batch // 2)
        return self.batch

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
            "order": self.order.clone(),
            "fixed_z": self.fixed_z,
        }
        meta = {
            "kind": self.kind,
            "config": dataclasses.asdict(self.cfg),
            "global_step": self.global_step,
            "cursor": self.cursor,
            "batch": self.batch,
            "ema_updates": self.ema.updates,
            **store_optimizers(tensors, opt_G=self.opt_G, opt_D=self.opt_D),
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        if meta.get("kind") != self.kind:
            raise CheckpointError(f"checkpoint is for a {meta.get('kind')} model, not {self.kind}")
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
        if tensors["order"].numel() == len(self.images):
            self.order, self.cursor = tensors["order"].clone(), int(meta["cursor"])
        else:  # the folder changed since the checkpoint (the session warns): a new epoch starts now
            self.order, self.cursor = torch.randperm(len(self.images), generator=self.rng), 0
        self.fixed_z = tensors["fixed_z"].clone()
        self.batch = self.images_per_step = int(meta.get("batch", self.cfg.batch))
        self.global_step = int(meta["global_step"])
        self.ema.updates = int(meta.get("ema_updates", self.global_step))
