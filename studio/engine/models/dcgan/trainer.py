"""Training a DCGAN: non-saturating GAN loss, Adam(2e-4, 0.5/0.999), EMA generator."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from studio.engine.errors import UserError
from studio.engine.models.dcgan.nets import SIZES, Discriminator, Generator, init_weights
from studio.engine.models.finetune import frozen_critic
from studio.engine.train.augment import diff_augment
from studio.engine.train.distributed import SINGLE, DistInfo
from studio.engine.train.latent_trainer import LatentTrainer
from studio.engine.train.small_map_conv import use_small_map_convs


@dataclass(frozen=True)
class DCGANConfig:
    size: int = 64  # image side in pixels: 32, 64, 128 or 256
    channels: int = 3  # 1 grey, 3 RGB, 4 RGBA (from the dataset)
    z_dim: int = 100  # length of the noise vector z
    ngf: int = 64  # generator width (channels of its last hidden layer)
    ndf: int = 64  # discriminator width (channels of its first layer)
    batch: int = 64  # images per step
    lr: float = 2e-4  # Adam learning rate for both networks
    beta1: float = 0.5  # Adam beta1 (0.5 as in the paper: less momentum keeps the game stable)
    beta2: float = 0.999  # Adam beta2
    ema_decay: float = 0.999  # generator weight averaging for samples/export
    flip: bool = True  # random horizontal flips of real images
    preview_count: int = 64  # images in the fixed-noise sample grid
    precision: str = "auto"  # auto | fp32 | bf16 autocast; auto = the measured fast path for the device
    channels_last: bool = False  # NHWC memory layout (faster convolutions on recent CPUs/GPUs)
    diffaugment: bool = False  # DiffAugment colour/translation/cutout for D (on by default for < 2,000 images)
    loss: str = "ns"  # ns = non-saturating (the paper), hinge = hinge loss (the "stable" preset)
    spectral_norm: bool = False  # spectral normalisation in D instead of BatchNorm ("stable" preset)
    r1_gamma: float = 0.0  # R1 gradient penalty weight on real images, 0 = off ("stable" preset: 0.2)
    bn_chunks: int = 1  # BatchNorm statistics per 1/k of the batch (what k data-parallel devices compute)
    freeze_d: int = 0  # FreezeD: the critic's first N blocks keep the weights it started with (fine-tuning)
    class_names: tuple[str, ...] = ()  # classes (first-level sub-folders) of a conditional model; () = none
    balanced_classes: bool = False  # draw every class equally often, however many images it has
    attention: bool = False  # SAGAN self-attention blocks in G and D ("attention" preset)
    g_spectral_norm: bool = False  # spectral normalisation in G too ("attention" preset, as SAGAN)
    d_bias: bool = False  # biases in D's convolutions (the presets with spectral norm, whose D has no BatchNorm)
    lr_d: float = 0.0  # D's learning rate when it differs from G's (two time-scale rule); 0 = lr
    # weight of the critic's cross-entropy on real images' classes, read from its projection terms
    # (conditional models): the critic learns the classes from the labels, not only from G's mistakes
    class_loss: float = 1.0

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def validate(self) -> None:
        if self.size not in SIZES:
            raise UserError(f"DCGAN size must be one of {', '.join(map(str, SIZES))} (got {self.size}).")
        if self.channels not in (1, 3, 4):
            raise UserError(f"DCGAN supports 1, 3 or 4 channels (got {self.channels}).")
        if self.batch < 2:
            raise UserError("Batch must be at least 2 (BatchNorm needs more than one image).")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"Precision must be auto, fp32 or bf16 (got {self.precision}).")
        if self.loss not in ("ns", "hinge"):
            raise UserError(f"Loss must be ns or hinge (got {self.loss}).")
        if self.r1_gamma < 0:
            raise UserError("r1_gamma must be >= 0.")
        if len(self.class_names) == 1:
            raise UserError("Classes need at least two sub-folders with images.")
        if self.attention and min(self.ngf, self.ndf) < 8:
            raise UserError("Self-attention needs a network width of at least 8.")


# The "stable" preset: hinge loss, spectral normalisation and an R1 penalty (with the EMA generator
# that every run has). Slower per step, but much harder to knock over on difficult collections.
# Both recipes with spectral norm give D's convolutions biases: without BatchNorm after them a
# bias-free D is positively homogeneous in its input (D(a x) = a D(x)), and on sparse pictures (two
# discs on a flat background, 32 px, width 32) both recipes then collapsed to the empty background
# (SWD 1,076-1,130 at step 1,000); with biases the attention recipe reached 303 (the paper DCGAN 684).
STABLE_PRESET = {"loss": "hinge", "spectral_norm": True, "r1_gamma": 0.2, "d_bias": True}
# SAGAN (Zhang et al. 2019): self-attention, spectral normalisation in G and D, hinge loss, and the
# two time-scale learning rates (D 4x faster than G) with Adam(0, 0.9).
ATTENTION_PRESET = {"attention": True, "loss": "hinge", "spectral_norm": True, "g_spectral_norm": True, "d_bias": True,
                    "lr": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9}
# R1 is computed every few steps and scaled up ("lazy regularisation", StyleGAN2): same effect, less cost.
R1_INTERVAL = 4


class DCGANTrainer(LatentTrainer):
    """One DCGAN training state: nets, optimizers, EMA, data order and RNG (the shared part in
    train/latent_trainer.py; the DCGAN's own is its nets, its losses and its step).

    Owned by one thread at a time (the training thread); `generator_state()` hands a CPU copy to others.
    `images` is the prepared uint8 dataset (N, C, H, W); `labels` the class of each image (N,) when
    `cfg.class_names` makes the model conditional."""

    kind = "dcgan"
    min_batch = 2  # BatchNorm needs more than one image

    def __init__(self, cfg: DCGANConfig, images: torch.Tensor, device: torch.device | str = "cpu", seed: int = 0,
                 dist_info: DistInfo = SINGLE, labels: torch.Tensor | None = None):
        # CPU: channels_last measured 1.15x faster in fp32 (bench/train_speed.py); bf16 autocast on CPUs
        # with native bf16 2.1x faster again, quality within the fp32 spread (bench/quality_check.py)
        super().__init__(cfg, device, seed, dist_info, cpu_channels_last=True, cpu_bf16=True)
        if dist_info.active and cfg.r1_gamma > 0:
            # R1 differentiates D's output with respect to its input: a double backward DDP cannot average
            raise UserError("Training on several devices needs the R1 penalty off (the default preset).")
        if cfg.num_classes and labels is None:
            raise ValueError("a conditional DCGAN needs the class of each image")
        self._use_images(images, labels if cfg.num_classes else None, cfg.num_classes, cfg.balanced_classes)

        def build():
            G = make_generator(cfg)
            D = Discriminator(cfg.size, cfg.ndf, cfg.channels, spectral_norm=cfg.spectral_norm,
                              num_classes=cfg.num_classes, attention=cfg.attention, bias=cfg.d_bias)
            G.apply(init_weights)
            D.apply(init_weights)
            return {"G": G, "D": D}

        nets = self._make_nets(seed, build)
        # oneDNN's bf16 kernels for the deepest layers' 4x4 maps run far below matmul speed
        # (nets/small_map_conv.py): the same arithmetic as matrix products there
        small_maps = self.fast.path.small_maps  # with bf16 on a CPU, or where measured faster (train/fast_path.py)
        self._use_nets(nets["G"], nets["D"], seed, adapt=use_small_map_convs if small_maps else None,
                       frozen=frozen_critic(self.kind, cfg.freeze_d))
        if cfg.lr_d:
            for group in self.opt_D.param_groups:
                group["lr"] = cfg.lr_d

    # ----- the step ----------------------------------------------------------------------------
    def _chunked(self, net, x: torch.Tensor, c: torch.Tensor | None = None, **kw):
        """`net(x)` (`net(x, c, **kw)` with classes), BatchNorm statistics per 1/bn_chunks of the batch."""
        if c is None:
            if self.cfg.bn_chunks <= 1:
                return net(x)
            return torch.cat([net(part) for part in x.chunk(self.cfg.bn_chunks)])
        k = self.cfg.bn_chunks
        parts = [net(xp, cp, **kw) for xp, cp in zip(x.chunk(k), c.chunk(k))]
        if isinstance(parts[0], tuple):  # logits and class logits
            return tuple(torch.cat(p) for p in zip(*parts))
        return torch.cat(parts)

    def _d_input(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.rng) if self.cfg.diffaugment else x

    def _d_real_loss(self, d_real: torch.Tensor) -> torch.Tensor:
        if self.cfg.loss == "hinge":
            return F.relu(1 - d_real).mean()
        return F.softplus(-d_real).mean()  # push real logits up (BCE-with-logits, stable softplus form)

    def _d_fake_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        if self.cfg.loss == "hinge":
            return F.relu(1 + d_fake).mean()
        return F.softplus(d_fake).mean()  # push fake logits down

    def _g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        if self.cfg.loss == "hinge":
            return -d_fake.mean()
        return F.softplus(-d_fake).mean()  # non-saturating -log D(G(z)): strong gradients while D wins

    def step(self) -> dict[str, float]:
        real, y_real = self._real_batch_labelled()
        z = self._noise()
        y_fake = self._fake_labels() if self.num_classes else None
        r1_now = self.cfg.r1_gamma > 0 and self.global_step % R1_INTERVAL == 0
        with self._autocast():
            fake = self._chunked(self._G, z, y_fake)
        # D: real and fake terms get a backward pass each (as in pytorch/examples): the same gradient
        # as one summed loss, and the pattern DDP needs when one module runs twice per step.
        self.opt_D.zero_grad(set_to_none=True)
        if r1_now:
            real.requires_grad_(True)
        with self._autocast():
            if self.num_classes and self.cfg.class_loss:
                d_real, class_real = self._chunked(self._D, self._d_input(real), y_real, class_logits=True)
                loss_real = self._d_real_loss(d_real) + self.cfg.class_loss * F.cross_entropy(
                    class_real.float(), y_real)
            else:
                d_real = self._chunked(self._D, self._d_input(real), y_real)
                loss_real = self._d_real_loss(d_real)
        r1 = torch.zeros((), device=self.device)
        if r1_now:
            (grad,) = torch.autograd.grad(d_real.float().sum(), real, create_graph=True)
            r1 = grad.float().pow(2).flatten(1).sum(1).mean()
            loss_real = loss_real + (self.cfg.r1_gamma / 2) * r1 * R1_INTERVAL
        loss_real.backward()
        with self._autocast():
            d_fake = self._chunked(self._D, self._d_input(fake.detach()), y_fake)
            loss_fake = self._d_fake_loss(d_fake)
        loss_fake.backward()
        self.opt_D.step()

        # G step: D's weight gradients are not needed here (D already stepped), so D runs with its
        # parameters frozen and autograd computes only the input gradients that flow back into G
        # (about a tenth of the step's arithmetic saved). The bare module: D's data-parallel wrapper
        # expects every parameter's gradient after each forward through it.
        self.D.requires_grad_(False)
        try:
            with self._autocast():
                loss_g = self._g_loss(self._chunked(self.D, self._d_input(fake), y_fake))
            self.opt_G.zero_grad(set_to_none=True)
            loss_g.backward()
        finally:
            self._d_trainable()
        self.opt_G.step()
        self.ema.update()
        self.global_step += 1
        losses = {
            "loss_D": loss_real.detach() + loss_fake.detach(),
            "loss_G": loss_g,
            "D_real": torch.sigmoid(d_real.detach().float()).mean(),
            "D_fake": torch.sigmoid(d_fake.detach().float()).mean(),
        }
        if r1_now:
            losses["R1"] = r1
        return self._report(losses)


def make_generator(cfg: DCGANConfig) -> Generator:
    """An untrained G for `cfg` (the trainer's, and the one the explorer and export load)."""
    return Generator(cfg.size, cfg.z_dim, cfg.ngf, cfg.channels, num_classes=cfg.num_classes,
                     attention=cfg.attention, spectral_norm=cfg.g_spectral_norm)
