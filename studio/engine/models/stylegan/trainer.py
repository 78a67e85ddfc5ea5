"""Training the style-based generator (StyleGAN2 recipe, facts from NVlabs/stylegan2-ada-pytorch
training/loss.py and train.py): non-saturating logistic loss, lazy R1 on reals every 16 critic
steps, style-mixing regularisation, a tracked w average, an EMA generator with a half-life in
images, DiffAugment applied with an ADA-style adaptive probability for small collections, and lazy
path-length regularisation (every 4 generator steps on half a batch, `pl_weight`): a fixed-size step
in W moves the picture by about the same amount everywhere, which makes W smoother to walk and its
directions more even (StyleGAN2, sec. 3.2).

With `attention` (SAGAN's self-attention blocks, nets.py) the loss and learning rate stay these: SAGAN
took hinge loss and two time-scale rates for a critic with no other regulariser, where R1 already
holds this one. bench/style_attention.py (2-core Xeon, one thread, 2026-12-03; 32 px discs, 160
steps, seeds 0-2) found no need for them: SWD fell to 0.59x, 0.73x and 0.76x of where it started
with attention (0.66x, 0.67x, 0.81x without), every loss finite, the gammas at 0.03-0.27."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from studio.engine.errors import CheckpointError, UserError
from studio.engine.models.attention import attention_side
from studio.engine.models.finetune import frozen_critic
from studio.engine.models.stylegan.nets import SIZES, Discriminator, Generator, channels_for
from studio.engine.train.augment import diff_augment
from studio.engine.train.distributed import SINGLE, DistInfo, mean_across
from studio.engine.train.latent_trainer import LatentTrainer

PL_WEIGHT = 2.0  # the reference's path-length weight (StyleGAN2-ADA's pl_weight for every resolution)

# Capacity presets: "small" for CPUs (at 64 px: 64 channels up to 16x16, then 32 and 16; measured
# 17 images/s on the shared 2-core CPU with one thread, where channel_max 128 ran 2-4x slower because
# the 4x4 and 8x8 convolutions dominate); "full" is the paper's auto config for GPUs (512 channels,
# halving from 32x32).
# The small preset keeps the reference's 8 mapping layers (it had 2): at 64 px, batch 16, 3,000 procedural
# portraits (scripts/make_demo_models.py --style-model '{"mapping_layers": 8}', 2026-12-04, the AMX Xeon) they
# cost no measurable time (0.29 s a step both, side by side) and over two seeds gave a lower SWD at the end
# (56 against 70 at 12,000 steps; 86 against 115 at 6,000) and a W the explorer can walk: a glasses direction
# at +1 put glasses on 52% / 42% of faces without them against 27% / 3%, W arithmetic gave glasses + long
# hair in 44% / 30% of trials against 15% / 6%, and the share of glasses came nearer the data's 51% (63% / 57%
# against 71% / 79%). The faces looked no better: the 12,000-step run drew more melted mouths than the
# 2-layer one, and at 6,000 steps both drew alien heads.
PRESETS = {
    "small": {"z_dim": 128, "w_dim": 128, "mapping_layers": 8, "channel_base": 1024, "channel_max": 64,
              "critic_width": 0.5},
    "full": {"z_dim": 512, "w_dim": 512, "mapping_layers": 8, "channel_base": 16384, "channel_max": 512},
}
R1_INTERVAL = 16  # lazy regularisation: R1 every 16 critic steps, weighted 16x (StyleGAN2, appendix B)
PL_INTERVAL = 4  # path-length regularisation every 4 generator steps, weighted 4x (the same appendix)
PL_BATCH_SHRINK = 2  # on half the batch (the reference's pl_batch_shrink)
PL_DECAY = 0.01  # the running mean of path lengths the penalty pulls towards moves this much a time
ADA_INTERVAL = 4  # steps between adjustments of the augmentation probability (as the reference)
# A fine-tune whose parent brought no critic (the bundled demo keeps only its averaged generator;
# imports may lack one): ADA never sets p below this. From p = 0 the fresh critic overfit the parent's
# own 3,000 portraits and undid it (SWD 70 -> 115 -> 197 at 1,000 / 2,000 steps, grey blobs); with this
# floor, 65 / 88 (fine-tuning the demo-style bundled then on them, 64 px, fp32, one thread, the 2-core Zen 4 EPYC,
# 2026-12-04; p stayed at the floor throughout, ADA asking for less); a floor of 0.5 went to 145 at
# 1,500 steps, orange-tinted faces, before coming back to 88; p fixed at 1 (--no-ada) gave 82 / 83. On
# 1,000 day-time landscapes (a new domain) from 0: 496 at 1,000 steps, one blurred hillside everywhere;
# with this floor 166, then 109 at 2,000 with varied scenes.
FRESH_CRITIC_ADA_FLOOR = 0.8


def auto_r1_gamma(size: int, batch: int) -> float:
    """The reference's auto config: gamma = 0.0002 * size^2 / batch."""
    return 0.0002 * size * size / batch


# The small (CPU) preset's R1 weight at 64 px, scaled with the pixel count as the reference's auto
# gamma is (the penalty is a sum of squared gradients over the pixels). The auto rule's 0.05 there
# (64 px, batch 16) let the narrow critic answer pixel-level cues: the generator painted a regular
# checker texture where faces have eyes and glasses, and runs swung (faces seed 1: SWD 185 / 174 / 101 /
# 244 at 2 / 4 / 6 / 8 minutes). With 2.0, 8 minutes each at 64 px side by side (bench/equal_time.py's
# child runs, one thread each, the 2-core Zen 4 EPYC, 2026-12-04): faces seeds 0 / 1 / 2 SWD 78 / 117 / 85
# against 104 / 244 / 144, heads with hair, glasses and shirts; scenes 201 against 202 (both collapsed).
# 0.4, 8 and 32 gave 98, 82 and 84 on faces seed 0 (32: no texture, but melted faces). Fine-tuning the
# bundled demo (2,000 steps): 54 at 1,000 steps and 72 at 2,000 against 65 and 88. The kind's default
# length (5,000 steps, faces seed 0, side by side): SWD 86 / 70 / 66 / 77 / 80 every 1,000 steps against
# 111 / 102 / 101 / 111 / 100 (512 held-out faces at the end: 94 against 109).
SMALL_R1_GAMMA_64 = 2.0


def preset_r1_gamma(preset: str, size: int, batch: int) -> float:
    """R1 weight for a capacity preset: the reference's auto rule for the full widths (what it was
    tuned for), SMALL_R1_GAMMA_64 scaled by (size / 64)^2 for the small CPU preset."""
    if preset == "small":
        return SMALL_R1_GAMMA_64 * (size / 64) ** 2
    return auto_r1_gamma(size, batch)


@dataclass(frozen=True)
class StyleGANConfig:
    size: int = 64  # image side in pixels: 32 to 512
    channels: int = 3  # 1 grey, 3 RGB, 4 RGBA (from the dataset)
    preset: str = "small"  # the capacity the fields below were filled from (recorded for the user)
    z_dim: int = 128  # length of the noise vector z
    w_dim: int = 128  # length of the intermediate latent w (and of every style)
    mapping_layers: int = 2  # FC layers of the mapping network (both presets set 8, as the reference)
    channel_base: int = 1024  # channels at resolution r: min(channel_base / r, channel_max)
    channel_max: int = 64
    # the critic's channel_base as a fraction of the generator's (same channel_max): the small preset's
    # critic is half as wide from 16 px up (docs/stylegan.md, "A narrower critic"); 1: the reference's
    critic_width: float = 1.0
    conv_clamp: float = 0.0  # clamp activations to +-this as StyleGAN2-ADA with fp16 does (0: never); imports keep it
    batch: int = 32  # images per step
    lr: float = 0.0025  # Adam learning rate for both networks (the reference's auto config)
    beta1: float = 0.0  # Adam betas (0, 0.99) as the reference
    beta2: float = 0.99
    ema_kimg: float = 10.0  # EMA generator half-life in thousands of images (the kind sets batch * 10 / 32, as auto)
    ema_rampup: float = 0.05  # the half-life is at most this fraction of the images seen so far (0: no ramp)
    r1_gamma: float = 0.0256  # R1 weight; the kind derives size^2 * 0.0002 / batch unless set
    # path-length regularisation weight (the reference's 2; 0: off). The kind turns it on with the full
    # preset; on the small CPU preset it makes a step 17% longer, where short CPU runs need plain steps
    pl_weight: float = 0.0
    style_mixing: float = 0.9  # probability of mixing two ws at a random layer during training
    diffaugment: bool = False  # DiffAugment colour/translation/cutout for D (the kind turns it on for every collection)
    ada: bool = True  # with diffaugment: adapt its probability p to D's overfitting (ADA's r_t); off: p = 1
    ada_target: float = 0.6  # r_t = E[sign(D(real))] the adjustment aims at
    ada_kimg: float = 20.0  # thousands of images for p to move by 1 (the reference's 500 suits runs of days)
    mbstd_group: int = 4  # images per minibatch-standard-deviation group
    flip: bool = True  # random horizontal flips of real images
    preview_count: int = 64  # images in the fixed-noise sample grid
    # auto: the fastest path the kind approved (kind.approved_paths: fp32 or bf16 autocast, either layout),
    # measured once per machine and model shape; unmeasured, fp32 on CPUs and bf16 on GPUs
    precision: str = "auto"
    channels_last: bool = False
    freeze_d: int = 0  # FreezeD: the critic's first N blocks keep the weights it started with (fine-tuning)
    class_names: tuple[str, ...] = ()  # classes (first-level sub-folders) of a conditional model; () = none
    balanced_classes: bool = False  # draw every class equally often, however many images it has
    # weight of the critic's cross-entropy on real images' classes, read from its projection terms
    # (conditional models): the critic learns the classes from the labels, not only from G's mistakes
    class_loss: float = 1.0
    # SAGAN self-attention in G and D (nets.py). The loss and learning rate stay this recipe's: see
    # the module docstring.
    attention: bool = False
    # per-layer noise inputs (the reference's stochastic detail); off: every layer's noise strength stays 0
    noise_inputs: bool = True

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def ema_decay(self) -> float:
        """Per-step EMA decay for the half-life: what the shared EMA (LatentTrainer) reads."""
        return 0.5 ** (self.batch / max(self.ema_kimg * 1000, 1e-8))

    def validate(self) -> None:
        if self.size not in SIZES:
            raise UserError(f"The style-based model's size must be one of {', '.join(map(str, SIZES))} px "
                            f"(got {self.size}).")
        if self.channels not in (1, 3, 4):
            raise UserError(f"The style-based model supports 1, 3 or 4 channels (got {self.channels}).")
        if self.preset not in PRESETS:
            raise UserError(f"Unknown capacity '{self.preset}' (choose {' or '.join(PRESETS)}).")
        if self.batch < 2:
            raise UserError("The batch must be at least 2 images (the critic compares images within a batch).")
        if not (1 <= self.z_dim <= 4096 and 1 <= self.w_dim <= 4096 and 1 <= self.mapping_layers <= 16):
            raise UserError("The noise length, style length and mapping layers are out of range.")
        if self.channel_max < 1 or self.channel_base < 4 or not 0 < self.critic_width <= 1 \
                or self.critic_channel_base < 4:
            raise UserError("The network width is out of range.")
        if self.r1_gamma < 0:
            raise UserError(f"The R1 weight must be 0 or more (got {self.r1_gamma}).")
        if self.pl_weight < 0:
            raise UserError(f"The path-length weight must be 0 or more (got {self.pl_weight}).")
        if not 0 <= self.style_mixing <= 1:
            raise UserError(f"The style-mixing probability must be between 0 and 1 (got {self.style_mixing}).")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"Precision must be auto, fp32 or bf16 (got {self.precision}).")
        side = attention_side(self.size)
        narrowest = min(channels_for(side, base, self.channel_max)
                        for base in (self.channel_base, self.critic_channel_base))
        if self.attention and narrowest < 8:
            raise UserError(f"Self-attention needs at least 8 channels on the {side}x{side} map; this network has "
                            f"{narrowest} there. Widen it or leave attention off.")

    @property
    def critic_channel_base(self) -> int:
        return int(self.channel_base * self.critic_width)


def build_generator(cfg: StyleGANConfig) -> Generator:
    return Generator(cfg.size, cfg.z_dim, cfg.w_dim, cfg.channels, cfg.channel_base, cfg.channel_max,
                     cfg.mapping_layers, conv_clamp=cfg.conv_clamp, num_classes=cfg.num_classes,
                     attention=cfg.attention)


def build_discriminator(cfg: StyleGANConfig) -> Discriminator:
    return Discriminator(cfg.size, cfg.channels, cfg.critic_channel_base, cfg.channel_max, cfg.mbstd_group,
                         conv_clamp=cfg.conv_clamp, num_classes=cfg.num_classes, attention=cfg.attention)


class StyleGANTrainer(LatentTrainer):
    """One style-based training state: nets, optimizers, EMA, data order, RNG and the augmentation
    probability. All randomness (z, mixing, per-layer noise, augmentation) is drawn from `self.rng`,
    so a checkpoint continues bit-identically on a CPU. `images`: the prepared uint8 dataset."""

    kind = "stylegan"
    min_batch = 2

    def __init__(self, cfg: StyleGANConfig, images: torch.Tensor, device: torch.device | str = "cpu",
                 seed: int = 0, dist_info: DistInfo = SINGLE, labels: torch.Tensor | None = None):
        super().__init__(cfg, device, seed, dist_info, cpu_channels_last=False)
        if cfg.num_classes and labels is None:
            raise ValueError("a conditional model needs the class of each image")
        self._use_images(images, labels if cfg.num_classes else None, cfg.num_classes, cfg.balanced_classes)
        nets = self._make_nets(seed, lambda: {
            "G": build_generator(cfg),
            "D": build_discriminator(cfg),
        })
        self._use_nets(nets["G"], nets["D"], seed, frozen=frozen_critic(self.kind, cfg.freeze_d))
        if not cfg.noise_inputs:
            for layer in self.G.synthesis.layers:
                layer.noise_strength.requires_grad_(False)
        # Lazy regularisation runs R1 in 1 of 16 steps: the reference scales D's Adam so its effective
        # rate per step stays that of an unregularised run.
        # Path-length regularisation does the same for G.
        for opt, on, interval in ((self.opt_D, cfg.r1_gamma > 0, R1_INTERVAL), (self.opt_G, cfg.pl_weight > 0,
                                                                                 PL_INTERVAL)):
            ratio = interval / (interval + 1) if on else 1.0
            for group in opt.param_groups:
                group["lr"] = cfg.lr * ratio
                group["betas"] = (cfg.beta1**ratio, cfg.beta2**ratio)
        self.pl_mean = 0.0  # running mean of the path lengths (a number, saved with the run)
        self.ada_p = 0.0 if cfg.ada else 1.0
        self.ada_floor = 0.0  # the lowest p ADA may set (a fine-tune's fresh critic: started_from_parent)
        self._ada_signs = 0.0  # sum of sign(D(real)) since the last adjustment, and its count
        self._ada_count = 0

    # ----- the step's inputs -------------------------------------------------------------------
    def _randn(self, *shape: int) -> torch.Tensor:
        """This process's share of a global-batch normal draw from the run's RNG."""
        return self._mine(torch.randn(*shape, generator=self.rng)).to(self.device)

    def _fake(self, track_w_avg: bool, c: torch.Tensor | None = None) -> torch.Tensor:
        """Generated images for the batch through the live G: mapping, style mixing, random noise;
        of classes `c` for a conditional model."""
        ws, noise = self._styles(self.batch, track_w_avg, c)
        # The bare G: mapping and synthesis run as separate calls, which a data-parallel wrapper's
        # forward does not see, so the step averages G's gradients itself (_average_grads). The
        # mapping stays in fp32 (its w average is tracked there); the synthesis takes the fast path.
        with self._autocast():
            return self.G.synthesis(ws, noise)

    def _styles(self, batch: int, track_w_avg: bool, c: torch.Tensor | None):
        """(ws, noise) for this process's share of a global batch of `batch`: mapped z, style mixing,
        the per-layer noise (None with noise inputs off)."""
        syn, mapping = self.G.synthesis, self.G.mapping
        z = self._randn(batch, self.cfg.z_dim)
        ws = mapping(z, track_w_avg=track_w_avg, c=c)
        if track_w_avg and self.dist.active:
            # Each process moved w_avg towards its own share's mean; their average is the move a
            # single process makes on the global batch, and keeps every process's copy identical.
            mapping.w_avg.copy_(self._gather(mapping.w_avg[None].clone()).mean(dim=0))
        # Style mixing: from a random layer on, the ws of a second z (one cut for the batch, as the
        # reference), so no layer can rely on its neighbours sharing a style.
        z2 = self._randn(batch, self.cfg.z_dim)
        mix = float(torch.rand((), generator=self.rng)) < self.cfg.style_mixing
        cut = int(torch.randint(1, syn.num_ws, (), generator=self.rng))
        if mix:
            ws2 = mapping(z2, c=c)  # the same class: mixing styles, not classes
            ws = torch.cat([ws[:, :cut], ws2[:, cut:]], dim=1)
        noise = ([self._randn(batch, 1, *shape) for shape in syn.noise_shapes()] if self.cfg.noise_inputs
                 else None)
        return ws, noise

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """DiffAugment on each image with probability p (ADA's strength), drawn from the run's RNG."""
        if not self.cfg.diffaugment or self.ada_p <= 0:
            # p = 0 (where ADA starts, and stays while D does not overfit): no image would be picked,
            # so none is augmented and nothing is drawn (every process sees the same p)
            return x
        aug = diff_augment(x, self.rng)
        if self.ada_p >= 1:
            return aug
        pick = self._mine(torch.rand(self.batch, generator=self.rng)).to(self.device) < self.ada_p
        return torch.where(pick[:, None, None, None], aug, x)

    def _adjust_ada(self, d_real: torch.Tensor) -> None:
        """ADA's overfitting heuristic: r_t = E[sign(D(real))] above the target means D is too sure
        of the reals, so augment more; below, less. p moves by at most batch*interval/(ada_kimg*1000)."""
        if not (self.cfg.diffaugment and self.cfg.ada):
            return
        self._ada_signs += float(torch.sign(d_real.detach()).mean())
        self._ada_count += 1
        if self._ada_count < ADA_INTERVAL:
            return
        r_t = mean_across(self.dist, {"r": self._ada_signs / self._ada_count}, self.device)["r"]
        step = self.batch * ADA_INTERVAL / (self.cfg.ada_kimg * 1000)
        self.ada_p = min(max(self.ada_p + math.copysign(step, r_t - self.cfg.ada_target), self.ada_floor), 1.0)
        self._ada_signs, self._ada_count = 0.0, 0

    def started_from_parent(self, fresh: list[str]) -> list[str]:
        """A critic the parent had nothing for gets augmentation at a floor (FRESH_CRITIC_ADA_FLOOR);
        one grown by a block for a larger size keeps the rest of the parent's and ADA's usual start."""
        critic_fresh = sum(name.startswith("D.") for name in fresh) == len(self.D.state_dict())
        if self.cfg.diffaugment and self.cfg.ada and critic_fresh:
            self.ada_floor = FRESH_CRITIC_ADA_FLOOR
            self.ada_p = max(self.ada_p, self.ada_floor)
            return [f"The critic starts fresh, so at least {self.ada_floor:.0%} of the images it sees are augmented "
                    "throughout (with fewer it overfit and undid the generator)."]
        return []

    # ----- the step ----------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        real, y_real = self._real_batch_labelled()
        r1_now = self.cfg.r1_gamma > 0 and self.global_step % R1_INTERVAL == 0
        y_fake = self._fake_labels() if self.num_classes else None
        cls_real, cls_fake = ((y_real,), (y_fake,)) if self.num_classes else ((), ())  # D's extra argument

        # One batch of fakes serves both players (as the DCGAN trainer): the reference draws a new
        # batch for each, which costs a second generator pass.
        fake = self._fake(track_w_avg=True, c=y_fake)
        # D: push real logits up and fake ones down (softplus form of the logistic loss).
        self.opt_D.zero_grad(set_to_none=True)
        d_fake = self._critic(self._D, fake.detach(), *cls_fake)
        loss_fake = F.softplus(d_fake).mean()
        loss_fake.backward()
        if self.num_classes and self.cfg.class_loss:
            d_real, class_real = self._critic(self._D, real, y_real, class_logits=True)
            loss_real = F.softplus(-d_real).mean() + self.cfg.class_loss * F.cross_entropy(class_real, y_real)
        else:
            d_real = self._critic(self._D, real, *cls_real)
            loss_real = F.softplus(-d_real).mean()
        loss_real.backward()
        r1 = None
        if r1_now:
            r1 = self._r1_backward(real, *cls_real)
        self.opt_D.step()
        self._adjust_ada(d_real)

        # G: non-saturating loss through a frozen D (only input gradients needed, see DCGAN trainer).
        self.D.requires_grad_(False)
        try:
            loss_g = F.softplus(-self._critic(self.D, fake, *cls_fake)).mean()
            self.opt_G.zero_grad(set_to_none=True)
            loss_g.backward()
        finally:
            self._d_trainable()
        pl = None
        if self.cfg.pl_weight > 0 and self.global_step % PL_INTERVAL == 0:
            pl = self._pl_backward(y_fake)
        self._average_grads(self.G)
        self.opt_G.step()
        # The reference's ramp: early on the half-life follows the images seen, so a short run's EMA
        # generator averages its recent weights, not the blurry ones of the first minutes.
        if self.cfg.ema_rampup > 0:
            seen = (self.global_step + 1) * self.batch
            half_life = min(self.cfg.ema_kimg * 1000, seen * self.cfg.ema_rampup)
            self.ema.decay = 0.5 ** (self.batch / max(half_life, 1e-8))
        self.ema.update()
        self.global_step += 1
        losses = {
            "loss_D": loss_real.detach() + loss_fake.detach(),
            "loss_G": loss_g,
            "D_real": torch.sigmoid(d_real.detach()).mean(),
            "D_fake": torch.sigmoid(d_fake.detach()).mean(),
        }
        if self.cfg.diffaugment:
            losses["augment_p"] = self.ada_p
        if r1 is not None:
            losses["R1"] = r1
        if pl is not None:
            losses["PL"] = pl
        return self._report(losses)

    def _critic(self, net, images: torch.Tensor, *args, **kwargs):
        """`net`'s logits (or logits and class logits) for the augmented `images`, computed on the fast
        path's autocast and returned in fp32: the losses and ADA's statistics are computed there."""
        with self._autocast():
            out = net(self._augment(images), *args, **kwargs)
        return tuple(o.float() for o in out) if isinstance(out, tuple) else out.float()

    def _r1_backward(self, real: torch.Tensor, *cls: torch.Tensor) -> torch.Tensor:
        """Lazy R1 on un-augmented reals, through the bare D (a double backward a data-parallel wrapper
        cannot average), its gradients then averaged by hand; returns the penalty. Always in fp32: a
        gradient penalty is where reduced precision hurts first, and it runs in 1 step of 16."""
        x = real.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(self.D(x, *cls).sum(), x, create_graph=True)
        r1 = grad.square().flatten(1).sum(1).mean()
        (r1 * (self.cfg.r1_gamma / 2) * R1_INTERVAL).backward()
        # DDP averaged the logistic terms already (the same on every rank), so averaging the sum
        # averages the R1 term too.
        self._average_grads(self.D)
        return r1.detach()

    def _pl_backward(self, y_fake: torch.Tensor | None) -> torch.Tensor:
        """Lazy path-length regularisation (StyleGAN2-ADA's loss.py): on half a batch of fresh styles,
        the length of J_w^T y for a random image-space y (scaled so the length does not depend on
        the size) is pulled towards its running mean; G's gradients add up with the main loss's.
        Returns the penalty. In fp32, like R1, through the bare G (a double backward)."""
        batch = max(self.batch // PL_BATCH_SHRINK, self.dist.world)  # a global batch: at least one per process
        c = None if y_fake is None else y_fake[: batch // self.dist.world]
        ws, noise = self._styles(batch, False, c)
        img = self.G.synthesis(ws, noise)
        y = self._randn(batch, *img.shape[1:]) / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
        lengths = grad.square().sum(2).mean(1).sqrt()
        # The running mean moves with the global batch's mean length, the same on every process.
        batch_mean = float(mean_across(self.dist, {"pl": float(lengths.mean().detach())}, self.device)["pl"])
        self.pl_mean += (batch_mean - self.pl_mean) * PL_DECAY
        penalty = (lengths - self.pl_mean).square().mean()
        (penalty * self.cfg.pl_weight * PL_INTERVAL).backward()
        return penalty.detach()

    def _average_grads(self, net: torch.nn.Module) -> None:
        """Average gradients the data-parallel wrapper did not see (parts run through the bare module)."""
        if not self.dist.active:
            return
        import torch.distributed as dist

        grads = [p.grad for p in net.parameters() if p.grad is not None]
        for g in grads:
            dist.all_reduce(g)
            g.div_(self.dist.world)

    # ----- checkpoints -------------------------------------------------------------------------
    def state_dict(self):
        tensors, meta = super().state_dict()
        meta["ada"] = {"p": self.ada_p, "signs": self._ada_signs, "count": self._ada_count, "floor": self.ada_floor}
        meta["pl_mean"] = self.pl_mean
        return tensors, meta

    def load_state_dict(self, tensors, meta):
        ada = meta.get("ada")
        if not isinstance(ada, dict) or not {"p", "signs", "count"} <= set(ada):
            raise CheckpointError("checkpoint is missing the augmentation state")
        floor = ada.get("floor", 0.0)  # checkpoints from before the floor: none
        if not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
            raise CheckpointError("checkpoint's augmentation floor is not a number from 0 to 1")
        pl_mean = meta.get("pl_mean", 0.0)  # runs saved before path-length regularisation: never used
        if not isinstance(pl_mean, (int, float)) or not math.isfinite(pl_mean):
            raise CheckpointError("checkpoint's path-length mean is not a number")
        super().load_state_dict(tensors, meta)
        self.pl_mean = float(pl_mean)
        self.ada_p = float(ada["p"])
        self.ada_floor = float(floor)
        self._ada_signs, self._ada_count = float(ada["signs"]), int(ada["count"])
