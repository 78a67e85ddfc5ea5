"""Training a CycleGAN (Zhu et al. 2017): two generators, two PatchGAN discriminators, LSGAN + cycle losses.

Naming follows the paper: G translates A -> B, F translates B -> A; D_B judges domain B (real B
against G(A)), D_A judges domain A (real A against F(B)). Per step:

* generators: LSGAN loss (D(fake) -> 1) + lambda * (|F(G(a)) - a| + |G(F(b)) - b|)
  + identity * lambda * (|G(b) - b| + |F(a) - a|) (keeps colours where nothing needs changing);
* discriminators: 0.5 * (D(real) -> 1 + D(fake) -> 0), fakes drawn from a 50-image history pool
  per direction so D does not just chase the generator's latest output.

Adam(2e-4, 0.5/0.999); the learning rate stays constant for the first half of the run and decays
linearly to zero over the second half (the reference's 100 + 100 epochs, measured in steps).
Images are loaded a little larger than the crop size (`load_size`) and randomly cropped and flipped.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from studio.engine.config import config_to_dict
from studio.engine.errors import CheckpointError, UserError
from studio.engine.images import make_grid, to_uint8
from studio.engine.models.cyclegan.nets import NLayerDiscriminator, ResnetGenerator, init_weights
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

MIN_SIZE, MAX_SIZE = 32, 512


@dataclass(frozen=True)
class CycleGANConfig:
    size: int = 64  # crop (training) side in pixels, 32-512, multiple of 4
    channels: int = 3  # 1 grey, 3 RGB, 4 RGBA (from the datasets)
    ngf: int = 64  # generator width (channels of its first layer)
    ndf: int = 64  # discriminator width (channels of its first layer)
    n_blocks: int = 0  # residual blocks in each generator; 0 = the paper's choice (9 at >= 256 px, else 6)
    n_layers_D: int = 3  # PatchGAN depth: 3 gives the paper's 70x70 patches
    batch: int = 1  # image pairs per step (the paper uses 1)
    lr: float = 2e-4  # Adam learning rate before the decay phase
    beta1: float = 0.5  # Adam beta1
    beta2: float = 0.999  # Adam beta2
    lambda_cycle: float = 10.0  # weight of the cycle-consistency loss (both directions)
    identity: bool = True  # use the identity loss (keeps colours of things that need no change)
    lambda_identity: float = 0.5  # identity loss weight, as a fraction of lambda_cycle
    pool_size: int = 50  # generated images remembered per direction for D (0 = no pool)
    decay_start: float = 0.5  # fraction of the run after which the learning rate decays linearly to 0
    flip: bool = True  # random horizontal flips
    preview_count: int = 4  # images per domain in the sample grid
    precision: str = "auto"  # auto | fp32 | bf16 autocast; auto = the measured fast path for the device
    channels_last: bool = False  # NHWC memory layout (faster convolutions on recent CPUs/GPUs)

    @property
    def load_size(self) -> int:
        """Side the training images are prepared at, before random crops of `size`."""
        return load_size_for(self.size)

    @property
    def blocks(self) -> int:
        """Residual blocks actually used by the generators."""
        return self.n_blocks or (9 if self.size >= 256 else 6)

    def validate(self) -> None:
        if not (MIN_SIZE <= self.size <= MAX_SIZE) or self.size % 4:
            raise UserError(
                f"CycleGAN size must be a multiple of 4 between {MIN_SIZE} and {MAX_SIZE} pixels (got {self.size})."
            )
        if self.channels not in (1, 3, 4):
            raise UserError(f"CycleGAN supports 1, 3 or 4 channels (got {self.channels}).")
        if self.batch < 1:
            raise UserError("Batch must be at least 1.")
        if self.ngf < 1 or self.ndf < 1 or self.n_blocks < 0 or self.n_layers_D < 1:
            raise UserError("Network widths must be positive.")
        # The PatchGAN shrinks the image by 2**n_layers and then by 2 more pixels twice.
        if self.size // 2**self.n_layers_D < 3:
            raise UserError(f"A {self.n_layers_D}-layer PatchGAN needs images of at least {3 * 2**self.n_layers_D} px.")
        if self.pool_size < 0:
            raise UserError("Pool size cannot be negative.")
        if not 0.0 <= self.decay_start <= 1.0:
            raise UserError("decay_start must be between 0 and 1.")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise UserError(f"Precision must be auto, fp32 or bf16 (got {self.precision}).")
        if self.preview_count < 1:
            raise UserError("preview_count must be at least 1.")


class HistoryPool:
    """The last `size` generated images of one direction (Shrivastava et al. 2017), as in the reference.

    While not full, every image is stored and passed through. Once full, each image is, with
    probability 1/2, swapped for a random stored one (which D then sees instead). All randomness comes
    from the trainer's CPU generator, so the pool resumes exactly."""

    def __init__(self, size: int, shape: tuple[int, ...], device: torch.device):
        self.size = size
        self.images = torch.empty((0, *shape), device=device)

    @torch.no_grad()
    def query(self, images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        images = images.detach().float()  # D's update must not reach back into the generators
        if self.size == 0:
            return images
        out = []
        for img in images:
            img = img[None]
            if len(self.images) < self.size:
                self.images = torch.cat([self.images, img])
                out.append(img)
            elif torch.rand(1, generator=rng).item() > 0.5:
                j = int(torch.randint(0, self.size, (1,), generator=rng))
                out.append(self.images[j : j + 1].clone())
                self.images[j] = img[0]
            else:
                out.append(img)
        return torch.cat(out)


class CycleGANTrainer(TrainerBase):
    """One CycleGAN training state: four nets, two optimizers, LR schedule, pools, data order and RNG.

    Owned by one thread at a time (the training thread); `generator_state()` hands a CPU copy to others.
    `images_a` / `images_b` are the prepared uint8 datasets (N, C, L, L) at `cfg.load_size`; the two
    domains may hold different numbers of images. `total_steps` (the run's target) sets the schedule.
    With several processes each trains on its share of every batch of pairs; the history pools hold
    the whole batch's fakes, the same on every process."""

    kind = "cyclegan"
    min_batch = 1
    images_per_item = 2  # one A and one B image per pair

    def __init__(
        self,
        cfg: CycleGANConfig,
        images_a: torch.Tensor,
        images_b: torch.Tensor,
        device: torch.device | str = "cpu",
        seed: int = 0,
        total_steps: int = 5000,
        dist_info: DistInfo = SINGLE,
    ):
        # CPU: channels_last measured 1.5x *slower* for this step (256 px), so not there; bf16 is left to
        # the per-machine measurement, which times it where the CPU computes it natively (kind.approved_paths)
        super().__init__(cfg, device, seed, dist_info, cpu_channels_last=False)
        shape = (cfg.channels, cfg.load_size, cfg.load_size)
        for name, images in (("A", images_a), ("B", images_b)):
            check_images(f"images {name}", images, shape)
            if len(images) == 0:
                raise UserError(f"The dataset for domain {name} is empty.")
        self.total_steps = int(total_steps)
        self.lr = cfg.lr  # learning rate of the latest step (after the schedule)
        self.images = {"A": images_a.to(self.device), "B": images_b.to(self.device)}

        def build():
            c = cfg.channels
            nets = {
                "G": ResnetGenerator(c, c, cfg.ngf, cfg.blocks),  # A -> B
                "F": ResnetGenerator(c, c, cfg.ngf, cfg.blocks),  # B -> A
                "D_A": NLayerDiscriminator(c, cfg.ndf, cfg.n_layers_D),  # real A vs F(B)
                "D_B": NLayerDiscriminator(c, cfg.ndf, cfg.n_layers_D),  # real B vs G(A)
            }
            for net in nets.values():
                net.apply(init_weights)
            return nets

        nets = self._make_nets(seed, build)
        self.G, self.F, self.D_A, self.D_B = nets["G"], nets["F"], nets["D_A"], nets["D_B"]
        self._G, self._F, self._D_A, self._D_B = self._parallel(self.G, self.F, self.D_A, self.D_B)
        self.opt_G = self._adam(itertools.chain(self.G.parameters(), self.F.parameters()))
        self.opt_D = self._adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()))
        crop = (cfg.channels, cfg.size, cfg.size)
        self.pools = {d: HistoryPool(cfg.pool_size, crop, self.device) for d in "AB"}

        self.data = {d: DataOrder(len(self.images[d]), self.rng) for d in "AB"}
        self.preview = {d: self._preview_set(self.images[d], seed + 2 + i) for i, d in enumerate("AB")}

    def _nets(self) -> dict[str, torch.nn.Module]:
        return {"G": self.G, "F": self.F, "D_A": self.D_A, "D_B": self.D_B}

    @property
    def order(self) -> dict[str, torch.Tensor]:
        """Each domain's shuffled order of the current pass."""
        return {d: o.order for d, o in self.data.items()}

    @property
    def cursor(self) -> dict[str, int]:
        """Each domain's position in its current pass."""
        return {d: o.cursor for d, o in self.data.items()}

    # ----- data --------------------------------------------------------------------------------
    def _preview_set(self, images: torch.Tensor, seed: int) -> torch.Tensor:
        """A fixed handful of centre-cropped images of one domain (uint8), chosen by the seed."""
        k = min(self.cfg.preview_count, len(images))
        idx = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:k].sort().values
        o = (self.cfg.load_size - self.cfg.size) // 2
        return images[idx.to(images.device), :, o : o + self.cfg.size, o : o + self.cfg.size].cpu()

    def _real_batch(self, domain: str) -> torch.Tensor:
        """Random crop of `size` from each `load_size` image, random horizontal flip; float in [-1, 1].
        The crops and flips of the whole batch are drawn, this process's share is cut."""
        idx = self.data[domain].take(self.batch, self.rng)
        s = self.cfg.size
        offsets, flips = draw_crops(len(idx), self.cfg.load_size, s, self.cfg.flip, self.rng)
        idx, offsets, flips = self._mine(idx), self._mine(offsets), self._mine(flips)
        src = self.images[domain]
        crops = []
        for i, (y, x), flip in zip(idx.tolist(), offsets.tolist(), flips.tolist()):
            crop = src[i, :, y : y + s, x : x + s]
            crops.append(crop.flip(2) if flip else crop)
        x = torch.stack(crops).float().div_(127.5).sub_(1)  # (B, C, size, size)
        return x.contiguous(memory_format=self.memory_format)

    def _set_lr(self) -> float:
        return set_decayed_lr((self.opt_G, self.opt_D), self.cfg.lr, self.global_step, self.total_steps,
                              self.cfg.decay_start)

    # ----- protocol ----------------------------------------------------------------------------
    def step(self) -> dict[str, float]:
        cfg = self.cfg
        lr = self._set_lr()
        real_a, real_b = self._real_batch("A"), self._real_batch("B")
        lam = cfg.lambda_cycle

        # Generators (D frozen: its gradients are not needed for this update; the bare critics, since
        # a data-parallel wrapper expects every parameter's gradient after a forward through it)
        for d in (self.D_A, self.D_B):
            d.requires_grad_(False)
        with self._autocast():
            fake_b = self._G(real_a)
            rec_a = self._F(fake_b)
            fake_a = self._F(real_b)
            rec_b = self._G(fake_a)
            score_b = self.D_B(fake_b)
            score_a = self.D_A(fake_a)
            loss_gan_g = F.mse_loss(score_b, torch.ones_like(score_b))
            loss_gan_f = F.mse_loss(score_a, torch.ones_like(score_a))
            loss_cyc_a = F.l1_loss(rec_a, real_a) * lam
            loss_cyc_b = F.l1_loss(rec_b, real_b) * lam
            loss_g = loss_gan_g + loss_gan_f + loss_cyc_a + loss_cyc_b
            if cfg.identity and cfg.lambda_identity > 0:
                loss_idt_b = F.l1_loss(self._G(real_b), real_b) * lam * cfg.lambda_identity
                loss_idt_a = F.l1_loss(self._F(real_a), real_a) * lam * cfg.lambda_identity
                loss_g = loss_g + loss_idt_a + loss_idt_b
        self.opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_G.step()
        for d in (self.D_A, self.D_B):
            d.requires_grad_(True)

        # Discriminators, on pooled fakes (the pools see the whole batch, as one process would)
        pooled = {}
        for d, fake in (("B", fake_b), ("A", fake_a)):
            picked = self.pools[d].query(self._gather(fake.detach().float()), self.rng)
            pooled[d] = self._mine(picked).contiguous(memory_format=self.memory_format)
        with self._autocast():
            loss_d_b = self._d_loss(self._D_B, real_b, pooled["B"])
            loss_d_a = self._d_loss(self._D_A, real_a, pooled["A"])
        self.opt_D.zero_grad(set_to_none=True)
        (loss_d_a + loss_d_b).backward()
        self.opt_D.step()

        self.global_step += 1
        losses = {
            "D_A": loss_d_a,
            "D_B": loss_d_b,
            "G": loss_gan_g,
            "F": loss_gan_f,
            "cycle_A": loss_cyc_a,
            "cycle_B": loss_cyc_b,
        }
        if cfg.identity and cfg.lambda_identity > 0:
            losses.update(idt_A=loss_idt_a, idt_B=loss_idt_b)
        self.lr = lr
        return self._report(losses)

    @staticmethod
    def _d_loss(d, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        # LSGAN: least squares towards 1 for real patches and 0 for fakes; halved as in the paper
        s_real, s_fake = d(real), d(fake)
        return 0.5 * (F.mse_loss(s_real, torch.ones_like(s_real)) + F.mse_loss(s_fake, torch.zeros_like(s_fake)))

    @torch.no_grad()
    def quality(self, count: int = 64) -> dict[str, float]:
        """Offline translation quality: SWD (x1e3, lower is better) between G(A) and real B, and between
        F(B) and real A, on fixed centre-cropped subsets; `swd` is their mean. Training thread only;
        never touches the training RNG."""
        g = torch.Generator().manual_seed(4242)
        o, s = (self.cfg.load_size - self.cfg.size) // 2, self.cfg.size
        subset = {}
        for d in "AB":
            idx = torch.randperm(len(self.images[d]), generator=g)[:count]
            subset[d] = self.images[d][idx.to(self.device), :, o : o + s, o : o + s]
        fake_b = to_uint8(self.translate(subset["A"], "a2b"))
        fake_a = to_uint8(self.translate(subset["B"], "b2a"))
        real_a, real_b = (subset[d].permute(0, 2, 3, 1).cpu().numpy() for d in "AB")
        a2b, b2a = swd(fake_b, real_b), swd(fake_a, real_a)
        return {"swd": (a2b + b2a) / 2, "swd_a2b": a2b, "swd_b2a": b2a}

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """uint8 (B, C, H, W), H and W multiples of 4 -> translated float (B, C, H, W) in [-1, 1].

        Training thread only; `studio.engine.explore.translate` handles any size for everyone else."""
        net = self.G if direction == "a2b" else self.F
        x = images.to(self.device).float().div(127.5).sub(1)
        return torch.cat([net(c) for c in x.split(16)])

    @torch.no_grad()
    def samples(self) -> np.ndarray:
        """Rows: A, G(A), F(G(A)), then B, F(B), G(F(B)); one column per preview image."""
        cols = max(len(self.preview["A"]), len(self.preview["B"]))
        rows = []
        for real, there, back in ((self.preview["A"], self.G, self.F), (self.preview["B"], self.F, self.G)):
            x = real.to(self.device).float().div(127.5).sub(1).contiguous(memory_format=self.memory_format)
            fake = there(x)
            for pics in (x, fake, back(fake)):
                pics = to_uint8(pics)
                if len(pics) < cols:  # a domain with fewer images than the preview count: blank cells
                    pics = np.concatenate([pics, np.full((cols - len(pics), *pics.shape[1:]), 32, np.uint8)])
                rows.append(pics)
        return make_grid(np.concatenate(rows), nrow=cols)

    def generator_state(self) -> dict[str, torch.Tensor]:
        """CPU copies of both generators: keys 'G.*' (A -> B) and 'F.*' (B -> A)."""
        tensors = {**module_tensors("G", self.G), **module_tensors("F", self.F)}
        return cpu_copy(tensors)

    def state_dict(self) -> tuple[dict[str, torch.Tensor], dict]:
        tensors: dict[str, torch.Tensor] = {}
        for name, net in self._nets().items():
            tensors.update(module_tensors(name, net))
        tensors.update(
            {
                "rng": self.rng.get_state(),
                "order_A": self.data["A"].order.clone(),
                "order_B": self.data["B"].order.clone(),
                "preview_A": self.preview["A"],
                "preview_B": self.preview["B"],
                "pool_A": self.pools["A"].images,
                "pool_B": self.pools["B"].images,
            }
        )
        meta = {
            "kind": self.kind,
            "config": config_to_dict(self.cfg),
            "global_step": self.global_step,
            "total_steps": self.total_steps,  # the schedule position is global_step / total_steps
            "cursor_A": self.data["A"].cursor,
            "cursor_B": self.data["B"].cursor,
            "batch": self.batch,
            **store_optimizers(tensors, opt_G=self.opt_G, opt_D=self.opt_D),
        }
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        # Validate everything before touching anything, so a bad file leaves the trainer unchanged.
        run = self._read_run_state(tensors, meta, self._nets(), {"order_A": "cursor_A", "order_B": "cursor_B"})
        require(tensors, "preview_A", "preview_B", "pool_A", "pool_B")
        crop = (self.cfg.channels, self.cfg.size, self.cfg.size)
        for d in "AB":
            if tensors[f"preview_{d}"].dtype != torch.uint8 or tuple(tensors[f"preview_{d}"].shape[1:]) != crop:
                raise CheckpointError(f"The checkpoint's preview images of domain {d} do not fit this model.")
            pool = tensors[f"pool_{d}"]
            if tuple(pool.shape[1:]) != crop or len(pool) > self.cfg.pool_size or pool.dtype != torch.float32:
                raise CheckpointError(f"The checkpoint's history pool of domain {d} does not fit this model.")
        self._load_run_state(tensors, self._nets(), run)
        for d in "AB":
            self.data[d].restore(tensors[f"order_{d}"], run.cursors[f"order_{d}"], len(self.images[d]), self.rng)
            self.preview[d] = tensors[f"preview_{d}"].clone()
            self.pools[d].images = tensors[f"pool_{d}"].to(self.device, copy=True)
