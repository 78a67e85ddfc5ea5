"""Training pix2pix (Isola et al. 2017): a U-Net G learns input -> target from aligned pairs, judged by
a PatchGAN D that sees the input beside the output.

Per step, as the reference's `Pix2PixModel.optimize_parameters`:
* D: 0.5 * (BCE(D(input, target) -> 1) + BCE(D(input, G(input)) -> 0));
* G: BCE(D(input, G(input)) -> 1) + lambda * |G(input) - target| (lambda = 100).
Adam(2e-4, 0.5/0.999); the learning rate is constant for the first half of the run and decays
linearly to zero over the second. Pairs are decoded ~1.12x larger (`load_size`) and each step crops
and flips input and target *together*: they are stored stacked channel-wise, so one crop cuts both
and they stay pixel-aligned by construction. Schedule and jitter are the CycleGAN's, shared in
`studio.engine.train.image_to_image`.

No EMA generator: the L1 term pins G's output to the target, so its weights do not wander between
steps the way an unconditional generator's do; the reference keeps none either, and one copy of a
54M-parameter U-Net less is memory a laptop keeps. Dropout is G's only noise; its masks come from
a seed drawn from the trainer's RNG every step, so a resumed run repeats them exactly. Samples,
quality and translation run G in eval mode (no dropout): the same input always gives the same output.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from studio.engine.config import config_to_dict
from studio.engine.data.pairs import PAIR_MODES
from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import make_grid, to_uint8
from studio.engine.models.pix2pix.nets import NLayerDiscriminator, UnetGenerator, init_weights, unet_levels
from studio.engine.train.distributed import SINGLE, DistInfo
from studio.engine.train.image_to_image import (
    check_images,
    draw_crops,
    load_size_for,
    set_decayed_lr,
)
from studio.engine.train.metrics import swd
from studio.engine.train.protocol import (
    cpu_copy,
    module_tensors,
    require,
    store_optimizers,
)
from studio.engine.train.trainer_base import DataOrder, TrainerBase

MIN_SIZE, MAX_SIZE = 64, 512
NO_PAIRS = "none"  # make_pairs when the inputs come from folders


@dataclass(frozen=True)
class Pix2PixConfig:
    size: int = 64  # crop (training) side in pixels, 64-512
    channels: int = 3  # 1 grey, 3 RGB, 4 RGBA (from the datasets)
    ngf: int = 64  # generator width (channels of its first layer)
    ndf: int = 64  # discriminator width (channels of its first layer)
    levels: int = 0  # U-Net down/up levels; 0 = as many halvings as the size allows, at most 8
    n_layers_D: int = 3  # PatchGAN depth: 3 gives the paper's 70x70 patches
    batch: int = 1  # pairs per step (the paper uses 1)
    lr: float = 2e-4  # Adam learning rate before the decay phase
    beta1: float = 0.5
    beta2: float = 0.999
    lambda_l1: float = 100.0  # weight of the L1 distance to the target
    decay_start: float = 0.5  # fraction of the run after which the learning rate decays linearly to 0
    flip: bool = True  # random horizontal flips (the same for input and target)
    jitter: bool = True  # decode ~1.12x larger and crop at random (the same crop for input and target)
    make_pairs: str = NO_PAIRS  # a data.pairs.PAIR_MODES mode: inputs made from one folder of targets
    preview_count: int = 4  # pairs in the sample grid
    precision: str = "auto"  # auto | fp32 | bf16 autocast; auto = the measured fast path for the device
    channels_last: bool = False  # NHWC memory layout

    @property
    def load_size(self) -> int:
        """Side the training pairs are prepared at, before random crops of `size`."""
        return load_size_for(self.size) if self.jitter else self.size

    @property
    def unet_levels(self) -> int:
        return self.levels or unet_levels(self.size)

    def validate(self) -> None:
        if not MIN_SIZE <= self.size <= MAX_SIZE:
            raise UserError(f"Pix2pix size must be between {MIN_SIZE} and {MAX_SIZE} pixels (got {self.size}).")
        levels = self.unet_levels
        if not 2 <= levels <= 9 or self.size % 2**levels:
            raise UserError(f"A {levels}-level U-Net needs a size that is a multiple of {2**levels} "
                            f"(got {self.size}); choose 64, 128, 256 or 512.")
        if self.channels not in (1, 3, 4):
            raise UserError(f"Pix2pix supports 1, 3 or 4 channels (got {self.channels}).")
        if self.batch < 1:
            raise UserError("Batch must be at least 1.")
        if self.ngf < 1 or self.ndf < 1 or self.n_layers_D < 1:
            raise UserError("Network widths must be positive.")
        if self.size // 2**self.n_layers_D < 3:
            raise UserError(f"A {self.n_layers_D}-layer PatchGAN needs images of at least {3 * 2**self.n_layers_D} px.")
        if self.make_pairs != NO_PAIRS and self.make_pairs not in PAIR_MODES:
            raise UserError(f"Unknown way to make pairs {self.make_pairs!r}; choose one of "
                            f"{', '.join(PAIR_MODES)}.")
        if not 0.0 <= self.decay_start <= 1.0:
            raise UserError("decay_start must be between 0 and 1.")
        if self.lambda_l1 < 0:
            raise UserError("lambda_l1 cannot be negative.")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"Precision must be auto, fp32 or bf16 (got {self.precision}).")
        if self.preview_count < 1:
            raise UserError("preview_count must be at least 1.")


def paired_images(datasets: dict, cfg: Pix2PixConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) uint8 (N, C, L, L), row i of one the partner of row i of the other, from the
    prepared datasets of any of the kind's role sets."""
    from studio.engine.data.pairs import TRAINING_SEED, make_inputs

    if "pairs" in datasets:  # side by side: the input's channels, then the target's
        both = datasets["pairs"].images
        c = both.shape[1] // 2
        return both[:, :c], both[:, c:]
    if "data" in datasets:
        if cfg.make_pairs == NO_PAIRS:
            raise UserError("One folder of pictures needs a way to make inputs from them: choose one of "
                            f"{', '.join(PAIR_MODES)}.")
        targets = datasets["data"].images
        # Made once, here, rather than every step: the inputs are a pure function of each target,
        # so this is the same data for a fraction of the work, and a resume remakes them identically.
        return make_inputs(cfg.make_pairs, targets, TRAINING_SEED), targets
    inputs, targets = datasets["a"].images, datasets["b"].images
    if len(inputs) != len(targets):
        raise UserError(f"{len(inputs)} inputs and {len(targets)} targets: each input needs one target of the "
                        "same name.")
    return inputs, targets


class Pix2PixTrainer(TrainerBase):
    """One pix2pix training state: G, D, two optimizers, the schedule, data order and RNG.

    `inputs` / `targets` are aligned uint8 (N, C, L, L) at `cfg.load_size`. Owned by the training
    thread; `generator_state()` hands a CPU copy to others. With several processes each trains on
    its share of every batch, crops and dropout drawn alike on all of them."""

    kind = "pix2pix"
    min_batch = 1
    images_per_item = 2  # an input and a target per pair

    def __init__(
        self,
        cfg: Pix2PixConfig,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        device: torch.device | str = "cpu",
        seed: int = 0,
        total_steps: int = 5000,
        dist_info: DistInfo = SINGLE,
    ):
        # fp32 on a GPU too when nothing was measured: its kind approved fp32 alone (kind.approved_paths)
        super().__init__(cfg, device, seed, dist_info, cpu_channels_last=False, gpu_bf16=False)
        shape = (cfg.channels, cfg.load_size, cfg.load_size)
        for name, images in (("inputs", inputs), ("targets", targets)):
            check_images(name, images, shape)
        if len(inputs) != len(targets):
            raise ValueError(f"{len(inputs)} inputs for {len(targets)} targets")
        if len(inputs) == 0:
            raise UserError("There are no pairs to train on.")
        self.total_steps = int(total_steps)
        self.lr = cfg.lr
        # Stacked channel-wise: one crop and one flip cut input and target alike (pixel-aligned).
        self.pairs = torch.cat([inputs, targets], 1).to(self.device)

        def build():
            c = cfg.channels
            nets = {"G": UnetGenerator(c, c, cfg.ngf, cfg.unet_levels), "D": NLayerDiscriminator(2 * c, cfg.ndf,
                                                                                              cfg.n_layers_D)}
            for net in nets.values():
                net.apply(init_weights)
            return nets

        nets = self._make_nets(seed, build)
        self.G, self.D = nets["G"], nets["D"]
        self._G, self._D = self._parallel(self.G, self.D)
        self.opt_G = self._adam(self.G.parameters())
        self.opt_D = self._adam(self.D.parameters())
        self.data = DataOrder(len(self.pairs), self.rng)
        self.preview = self._preview_set(seed + 2)

    def _nets(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "D": self.D}

    # ----- data --------------------------------------------------------------------------------
    def _centre(self, rows: torch.Tensor) -> torch.Tensor:
        o, s = (self.cfg.load_size - self.cfg.size) // 2, self.cfg.size
        return self.pairs[rows.to(self.device), :, o : o + s, o : o + s]

    def _preview_set(self, seed: int) -> torch.Tensor:
        """A fixed handful of centre-cropped pairs (uint8 (k, 2C, size, size)), chosen by the seed."""
        k = min(self.cfg.preview_count, len(self.pairs))
        idx = torch.randperm(len(self.pairs), generator=torch.Generator().manual_seed(seed))[:k].sort().values
        return self._centre(idx).cpu()

    def crops(self, idx: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 2C, size, size): pair idx[i] cut at offsets[i] (y, x), mirrored where flips[i]."""
        s = self.cfg.size
        out = [self.pairs[i, :, y : y + s, x : x + s] for i, (y, x) in zip(idx.tolist(), offsets.tolist())]
        return torch.stack([p.flip(2) if f else p for p, f in zip(out, flips.tolist())])

    def _real_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's inputs and targets, float in [-1, 1]: the whole batch's crops and flips are drawn."""
        idx = self.data.take(self.batch, self.rng)
        offsets, flips = draw_crops(len(idx), self.cfg.load_size, self.cfg.size, self.cfg.flip, self.rng)
        both = self.crops(self._mine(idx), self._mine(offsets), self._mine(flips))
        x = both.float().div_(127.5).sub_(1).contiguous(memory_format=self.memory_format)
        c = self.cfg.channels
        return x[:, :c], x[:, c:]

    def _set_lr(self) -> float:
        return set_decayed_lr((self.opt_G, self.opt_D), self.cfg.lr, self.global_step, self.total_steps,
                              self.cfg.decay_start)

    @contextlib.contextmanager
    def _dropout_seed(self, seed: int):
        """Dropout draws from the global RNG: seed it for this pass alone, leaving it as it was after."""
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    @contextlib.contextmanager
    def _eval(self):
        self.G.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.G.train()

    # ----- protocol ----------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        cfg = self.cfg
        lr = self._set_lr()
        real_a, real_b = self._real_batch()
        seed = int(torch.randint(0, 2**62, (1,), generator=self.rng))

        with self._dropout_seed(seed), self._autocast():
            fake_b = self._G(real_a)

        # D: real and fake pairs in one pass (InstanceNorm is per image, so this is two passes' result)
        with self._autocast():
            scores = self._D(torch.cat([torch.cat([real_a, real_b], 1), torch.cat([real_a, fake_b.detach()], 1)]))
            s_real, s_fake = scores.float().chunk(2)
            loss_d_real = F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
            loss_d_fake = F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake))
            loss_d = 0.5 * (loss_d_real + loss_d_fake)
        self.opt_D.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_D.step()

        # G, judged by the D just updated (frozen; the bare module, as no D gradients are needed)
        self.D.requires_grad_(False)
        with self._autocast():
            score = self.D(torch.cat([real_a, fake_b], 1)).float()
            loss_gan = F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
            loss_l1 = F.l1_loss(fake_b.float(), real_b) * cfg.lambda_l1
            loss_g = loss_gan + loss_l1
        self.opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_G.step()
        self.D.requires_grad_(True)

        self.global_step += 1
        self.lr = lr
        return self._report({"D_real": loss_d_real, "D_fake": loss_d_fake, "G_gan": loss_gan, "G_L1": loss_l1})

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """uint8 (B, C, H, W) inputs, H and W multiples of 2**levels -> float (B, C, H, W) in [-1, 1],
        dropout off. Training thread only; the translate path handles any size for everyone else."""
        x = images.to(self.device).float().div(127.5).sub(1)
        with self._eval():
            return torch.cat([self.G(c) for c in x.split(16)])

    @torch.no_grad()
    def quality(self, count: int = 64) -> dict[str, float]:
        """On a fixed subset of centre-cropped pairs: SWD (x1e3) between G(input) and the targets, and
        `l1`, the mean absolute distance of G(input) to its own target (0-1 of the pixel range; the
        measure paired data makes possible). Never touches the training RNG."""
        g = torch.Generator().manual_seed(4242)
        both = self._centre(torch.randperm(len(self.pairs), generator=g)[:count])
        c = self.cfg.channels
        fake = self.translate(both[:, :c])
        real = both[:, c:].to(fake.device).float().div(127.5).sub(1)
        l1 = float((fake - real).abs().mean()) / 2
        fake_u8 = to_uint8(fake)
        real_u8 = both[:, c:].permute(0, 2, 3, 1).cpu().numpy()
        return {"swd": swd(fake_u8, real_u8), "l1": l1}

    @torch.no_grad()
    def samples(self) -> np.ndarray:
        """Rows: input, G(input), target; one column per preview pair."""
        c = self.cfg.channels
        x = self.preview.to(self.device).float().div(127.5).sub(1)
        with self._eval():
            fake = self.G(x[:, :c].contiguous(memory_format=self.memory_format))
        rows = [to_uint8(x[:, :c]), to_uint8(fake), to_uint8(x[:, c:])]
        return make_grid(np.concatenate(rows), nrow=len(x))

    def generator_state(self) -> dict[str, torch.Tensor]:
        """CPU copies of the generator: keys 'G.*'."""
        return cpu_copy(module_tensors("G", self.G))

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors: dict[str, torch.Tensor] = {}
        for name, net in self._nets().items():
            tensors.update(module_tensors(name, net))
        tensors.update({"rng": self.rng.get_state(), "order": self.data.order.clone(), "preview": self.preview})
        meta = {
            "kind": self.kind,
            "config": config_to_dict(self.cfg),
            "global_step": self.global_step,
            "total_steps": self.total_steps,
            "cursor": self.data.cursor,
            "batch": self.batch,
            **store_optimizers(tensors, opt_G=self.opt_G, opt_D=self.opt_D),
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        # Validate everything before touching anything, so a bad file leaves the trainer unchanged.
        run = self._read_run_state(tensors, meta, self._nets(), {"order": "cursor"})
        require(tensors, "preview")
        c, s = self.cfg.channels, self.cfg.size
        preview = tensors["preview"]
        if preview.dtype != torch.uint8 or tuple(preview.shape[1:]) != (2 * c, s, s):
            raise CheckpointError("The checkpoint's preview pairs do not fit this model.")
        self._load_run_state(tensors, self._nets(), run)
        self.data.restore(tensors["order"], run.cursors["order"], len(self.pairs), self.rng)
        self.preview = preview.clone()
