"""Training the original GAN: the non-saturating loss of the paper's section 3, Adam, EMA generator."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from studio.engine.errors import UserError
from studio.engine.models.gan.kind import SIZES
from studio.engine.models.gan.nets import Discriminator, Generator
from studio.engine.train.distributed import SINGLE, DistInfo
from studio.engine.train.latent_trainer import LatentTrainer


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


class GANTrainer(LatentTrainer):
    """One GAN training state: nets, optimizers, EMA, data order and RNG.

    Owned by one thread at a time (the training thread); `generator_state()` hands a CPU copy to others.
    `images` is the prepared uint8 dataset (N, C, H, W)."""

    kind = "gan"
    min_batch = 2  # G's BatchNorm needs more than one image

    def __init__(self, cfg: GANConfig, images: torch.Tensor, device: torch.device | str = "cpu", seed: int = 0,
                 dist_info: DistInfo = SINGLE):
        # No image-shaped activations, so no channels_last; bf16 on a CPU is not measured for this kind.
        # fp32 on a GPU too when nothing was measured: its kind approved fp32 alone (kind.approved_paths)
        super().__init__(cfg, device, seed, dist_info, cpu_channels_last=False, gpu_bf16=False)
        self._use_images(images)  # resident: no per-step decode or host->device copy
        nets = self._make_nets(seed, lambda: {  # PyTorch's default Linear initialisation, from the run's seed
            "G": Generator(cfg.size, cfg.z_dim, cfg.width, cfg.channels),
            "D": Discriminator(cfg.size, cfg.width, cfg.channels, cfg.dropout, cfg.maxout),
        })
        self._use_nets(nets["G"], nets["D"], seed)

    # ----- data --------------------------------------------------------------------------------
    def _uniform(self, shape: torch.Size) -> torch.Tensor:
        """Uniform noise for D's dropout masks: drawn for the whole batch from the run's RNG (so a
        checkpoint resumes exactly, and each process masks its own share), this process's rows."""
        return self._mine(torch.rand((self.batch, *shape[1:]), generator=self.rng))

    # ----- protocol ----------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        real = self._real_batch()
        z = self._noise()
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
