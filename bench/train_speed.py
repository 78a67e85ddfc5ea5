"""Training throughput of GAN Studio against the canonical eager loop, measured in the same run.

    python bench/train_speed.py [DATA_DIR] [--mode dcgan|cyclegan|pix2pix|gan|stylegan|all]
                                [--source photos|web|thumbs|tiny|all] [--rounds 3] [--steps N] [--device auto] [--quick]

GAN Studio's side is built as a training session builds it: on the first round the fast path is
chosen for this machine by timing each candidate the kind's quality check approved
(studio/engine/train/fast_path.py; not part of the timed steps) and remembered in the bench's
own cache folder, so later rounds reuse it; each round prints the path and its step times.

DCGAN mode (64 px, batch 64): the project's trainer with its defaults (resident uint8 dataset,
the measured fast path; frozen D in the G step) against the pytorch/examples dcgan recipe
(torchvision ImageFolder + DataLoader(2 workers) + fp32 + Sigmoid/BCELoss, NCHW) on the same
folder and device.

GAN mode (the 2014 GAN, 32 px, batch 64, width 128): the project's trainer against the same
fully connected networks in a plain eager fp32 loop (ImageFolder + DataLoader(2 workers),
BCE-with-logits, D's gradients computed in the G step too) on the same folder and device.

Style-based mode (64 px, batch 16, the kind's CPU defaults): the project's trainer against the same
networks and losses in the plain loop of StyleGAN2-ADA's training_loop.py (ImageFolder +
DataLoader(2 workers), fp32, a fresh generated batch for each of the D and G phases, D's weight
gradients computed in the G phase too, lazy R1 every 16 steps: 17 steps a round time it once on
each side). The project's trainer generates once a step for both phases, freezes D in the G phase,
keeps the dataset resident, and skips augmentation while ADA's p is 0.

CycleGAN mode (256 px, batch 1): the project's trainer against the reference repository's
training loop (unaligned A/B ImageFolder-style dataset, Resize(286, bicubic) + RandomCrop(256) +
flip in DataLoader(2 workers), fp32, the same ResNet-9 generators and 70x70 PatchGANs, LSGAN,
image pools, D frozen during the G step).

Pix2pix mode (256 px, batch 1): the project's trainer against the same repository's
Pix2PixModel loop on the same U-Net and PatchGAN (inputs and targets of the same name from two
folders, resized to 286 and cropped and flipped alike in DataLoader(2 workers), fp32, vanilla GAN
loss + 100 L1, D on the fake and the real pair in two passes, D frozen in the G step). The project's
trainer judges both pairs in one D pass and keeps the pairs resident, decoded once.

`--quick` checks that every mode runs end to end: one round of one timed step after one warm-up,
a small tiny-PNG folder, CycleGAN and pix2pix at 64 px. Its figures mean nothing.

The two loops run in alternating rounds, each round in a fresh process (nothing shared: no
allocator, thread pool or DataLoader worker left over from the other side; start-up and warm-up
steps are not timed), and the ratio is the median of the per-round ratios, so a noisy neighbour
on a shared machine hits both sides alike. The baseline's share of time spent waiting for data is
printed: it is what the resident dataset removes.

Without DATA_DIR procedural folders stand in for a user's collection. The ratio depends on how
large the source files are, because the canonical loop decodes and resizes every file every epoch
while the project decodes once:
    camera  4032x3024 JPEG with sensor-like grain (straight from a 12 MP phone), 128 files
    photos  2048x1536 JPEG with grain (a phone photo at half size), 256 files
    web     1024x768 JPEG with grain, 512 files
    thumbs  256x256 JPEG, 1,000 files
    tiny    64x64 PNG (already the training size), 1,000 files
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.engine.device import describe_device, pick_device  # noqa: E402
from studio.engine.models import KINDS, get_kind  # noqa: E402
from studio.engine.train.distributed import SINGLE  # noqa: E402

SOURCES = {  # name: (width, height, count, format, grain)
    "camera": (4032, 3024, 128, "jpg", 6.0),
    "photos": (2048, 1536, 256, "jpg", 6.0),
    "web": (1024, 768, 512, "jpg", 6.0),
    "thumbs": (256, 256, 1000, "jpg", 0.0),
    "tiny": (64, 64, 1000, "png", 0.0),
}


# ----- the canonical DCGAN loop (pytorch/examples/dcgan/main.py, trimmed to the training step) --------
class _ExamplesG(nn.Module):
    def __init__(self, nz=100, ngf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
        )

    def forward(self, x):
        return self.main(x)


class _ExamplesD(nn.Module):
    def __init__(self, ndf=64, nc=3):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
        )

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


class _Endless:
    """Batches from a DataLoader, epoch after epoch (as the examples' `for epoch: for data in loader`)."""

    def __init__(self, loader):
        self.loader, self.it = loader, iter(loader)

    def next(self):
        try:
            return next(self.it)
        except StopIteration:
            self.it = iter(self.loader)
            return next(self.it)


class CanonicalDCGAN:
    images_per_step = 64
    prep_seconds = 0.0

    def __init__(self, data_dir: Path, device: torch.device, tmp: Path):
        import torchvision.datasets as dset
        import torchvision.transforms as T

        root = tmp / "imagefolder"
        root.mkdir()
        (root / "class0").symlink_to(data_dir.resolve(), target_is_directory=True)  # ImageFolder wants classes
        ds = dset.ImageFolder(str(root), transform=T.Compose([
            T.Resize(64), T.CenterCrop(64), T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
        self.data = _Endless(torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=2,
                                                        drop_last=True))
        self.device = device
        self.netG, self.netD = _ExamplesG().to(device), _ExamplesD().to(device)
        self.crit = nn.BCELoss()
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step(self) -> float:
        """One training step; returns the seconds spent waiting for the batch."""
        t0 = time.perf_counter()
        data, _ = self.data.next()
        waited = time.perf_counter() - t0
        device, crit, netD, netG = self.device, self.crit, self.netD, self.netG
        real = data.to(device)
        b = real.size(0)
        netD.zero_grad()
        errD_real = crit(netD(real), torch.full((b,), 1.0, device=device))
        errD_real.backward()
        fake = netG(torch.randn(b, 100, 1, 1, device=device))
        errD_fake = crit(netD(fake.detach()), torch.full((b,), 0.0, device=device))
        errD_fake.backward()
        self.optD.step()
        netG.zero_grad()
        errG = crit(netD(fake), torch.full((b,), 1.0, device=device))
        errG.backward()
        self.optG.step()
        return waited


# ----- the canonical CycleGAN loop (junyanz/pytorch-CycleGAN-and-pix2pix, trimmed) -----------------
class _ImagePool:
    def __init__(self, size=50):
        self.size, self.images = size, []

    def query(self, images):
        out = []
        for image in images:
            image = image.detach()[None]
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif np.random.uniform() > 0.5:
                j = np.random.randint(0, self.size)
                out.append(self.images[j].clone())
                self.images[j] = image
            else:
                out.append(image)
        return torch.cat(out)


class _Unaligned(torch.utils.data.Dataset):
    def __init__(self, dir_a: Path, dir_b: Path, size: int):
        import torchvision.transforms as T

        self.a, self.b = sorted(dir_a.iterdir()), sorted(dir_b.iterdir())
        load = int(round(size * 1.12 / 4)) * 4  # 286 for 256, as the reference's load_size
        self.tf = T.Compose([T.Resize([load, load], T.InterpolationMode.BICUBIC), T.RandomCrop(size),
                             T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])

    def __len__(self):
        return max(len(self.a), len(self.b))

    def __getitem__(self, i):
        from PIL import Image

        a = Image.open(self.a[i % len(self.a)]).convert("RGB")
        b = Image.open(self.b[np.random.randint(0, len(self.b))]).convert("RGB")
        return self.tf(a), self.tf(b)


class _PairLoop:
    """What the image-to-image plain loops share: the next (A, B) pair from their DataLoader, and
    how long the step waited for it."""

    def _pair(self) -> tuple[float, torch.Tensor, torch.Tensor]:
        t0 = time.perf_counter()
        a, b = self.data.next()
        return time.perf_counter() - t0, a.to(self.device), b.to(self.device)


class CanonicalCycleGAN(_PairLoop):
    images_per_step = 2
    prep_seconds = 0.0

    def __init__(self, dir_a: Path, dir_b: Path, device: torch.device, size: int):
        from studio.engine.models.cyclegan.nets import NLayerDiscriminator, ResnetGenerator
        from studio.engine.models.cyclegan.nets import init_weights as cyc_init

        self.data = _Endless(torch.utils.data.DataLoader(_Unaligned(dir_a, dir_b, size), batch_size=1, shuffle=True,
                                                        num_workers=2))
        self.device = device
        blocks = 9 if size >= 256 else 6
        self.G, self.F = (ResnetGenerator(3, 3, 64, blocks).to(device) for _ in range(2))
        self.D_A, self.D_B = (NLayerDiscriminator(3, 64, 3).to(device) for _ in range(2))
        for net in (self.G, self.F, self.D_A, self.D_B):
            net.apply(cyc_init)
        import itertools

        self.opt_G = torch.optim.Adam(itertools.chain(self.G.parameters(), self.F.parameters()), 2e-4,
                                      betas=(0.5, 0.999))
        self.opt_D = torch.optim.Adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()), 2e-4,
                                      betas=(0.5, 0.999))
        self.pool_a, self.pool_b = _ImagePool(), _ImagePool()
        self.mse, self.l1 = nn.MSELoss(), nn.L1Loss()

    def _gan(self, pred, real: bool):
        return self.mse(pred, torch.full_like(pred, 1.0 if real else 0.0))

    def _backward_d(self, netD, real, fake):
        loss = (self._gan(netD(real), True) + self._gan(netD(fake.detach()), False)) * 0.5
        loss.backward()

    def step(self) -> float:
        waited, real_a, real_b = self._pair()
        fake_b = self.G(real_a)
        rec_a = self.F(fake_b)
        fake_a = self.F(real_b)
        rec_b = self.G(fake_a)
        for d in (self.D_A, self.D_B):
            d.requires_grad_(False)
        self.opt_G.zero_grad()
        idt_a, idt_b = self.G(real_b), self.F(real_a)
        loss_g = (self.l1(idt_a, real_b) * 10 * 0.5 + self.l1(idt_b, real_a) * 10 * 0.5
                  + self._gan(self.D_A(fake_b), True) + self._gan(self.D_B(fake_a), True)
                  + self.l1(rec_a, real_a) * 10 + self.l1(rec_b, real_b) * 10)
        loss_g.backward()
        self.opt_G.step()
        for d in (self.D_A, self.D_B):
            d.requires_grad_(True)
        self.opt_D.zero_grad()
        self._backward_d(self.D_A, real_b, self.pool_b.query(fake_b))
        self._backward_d(self.D_B, real_a, self.pool_a.query(fake_a))
        self.opt_D.step()
        return waited


# ----- the canonical pix2pix loop (the same repository's Pix2PixModel, trimmed) --------------------------
class _Aligned(torch.utils.data.Dataset):
    """Input and target of the same name from two folders, with the reference's AlignedDataset
    transforms: resized to the load size (bicubic), one random crop and one flip for both."""

    def __init__(self, dir_a: Path, dir_b: Path, size: int):
        self.a, self.b = sorted(dir_a.iterdir()), sorted(dir_b.iterdir())
        self.size, self.load = size, int(round(size * 1.12 / 4)) * 4  # 286 for 256

    def __len__(self):
        return len(self.a)

    def __getitem__(self, i):
        import torchvision.transforms.functional as TF
        from PIL import Image

        x, y = np.random.randint(0, self.load - self.size + 1, 2)
        flip = np.random.uniform() > 0.5

        def tf(path):
            im = Image.open(path).convert("RGB").resize((self.load, self.load), Image.BICUBIC)
            im = im.crop((x, y, x + self.size, y + self.size))
            t = TF.to_tensor(im.transpose(Image.FLIP_LEFT_RIGHT) if flip else im)
            return TF.normalize(t, (0.5,) * 3, (0.5,) * 3)

        return tf(self.a[i]), tf(self.b[i])


class CanonicalPix2Pix(_PairLoop):
    """Pix2PixModel.optimize_parameters with the project's U-Net and PatchGAN (the networks the kind
    trains): fp32, NCHW, batch 1, vanilla GAN loss + 100 L1, D on the detached fake and the real
    pair in two passes, D frozen for the G step."""

    images_per_step = 2  # an input and its target, as the kind's trainer counts a pair
    prep_seconds = 0.0

    def __init__(self, dir_a: Path, dir_b: Path, device: torch.device, size: int):
        from studio.engine.models.pix2pix.nets import NLayerDiscriminator, UnetGenerator, init_weights, unet_levels

        self.data = _Endless(torch.utils.data.DataLoader(_Aligned(dir_a, dir_b, size), batch_size=1, shuffle=True,
                                                        num_workers=2))
        self.device = device
        self.G = UnetGenerator(3, 3, 64, unet_levels(size)).to(device)
        self.D = NLayerDiscriminator(6, 64, 3).to(device)
        for net in (self.G, self.D):
            net.apply(init_weights)
        self.opt_G = torch.optim.Adam(self.G.parameters(), 2e-4, betas=(0.5, 0.999))
        self.opt_D = torch.optim.Adam(self.D.parameters(), 2e-4, betas=(0.5, 0.999))
        self.gan, self.l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()

    def _loss(self, pred, real: bool):
        return self.gan(pred, torch.full_like(pred, 1.0 if real else 0.0))

    def step(self) -> float:
        waited, real_a, real_b = self._pair()
        fake_b = self.G(real_a)
        self.D.requires_grad_(True)
        self.opt_D.zero_grad()
        fake_ab = torch.cat([real_a, fake_b], 1)
        loss_d = (self._loss(self.D(fake_ab.detach()), False)
                  + self._loss(self.D(torch.cat([real_a, real_b], 1)), True)) * 0.5
        loss_d.backward()
        self.opt_D.step()
        self.D.requires_grad_(False)
        self.opt_G.zero_grad()
        (self._loss(self.D(fake_ab), True) + self.l1(fake_b, real_b) * 100).backward()
        self.opt_G.step()
        return waited


# ----- a plain eager loop for the 2014 GAN (the project's networks, nothing else of the project) ------
class CanonicalGAN:
    images_per_step = 64
    prep_seconds = 0.0

    def __init__(self, data_dir: Path, device: torch.device, tmp: Path, size: int = 32):
        import torchvision.datasets as dset
        import torchvision.transforms as T

        from studio.engine.models.gan.nets import Discriminator, Generator

        root = tmp / "imagefolder"
        root.mkdir()
        (root / "class0").symlink_to(data_dir.resolve(), target_is_directory=True)
        ds = dset.ImageFolder(str(root), transform=T.Compose([
            T.Resize(size), T.CenterCrop(size), T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
        self.data = _Endless(torch.utils.data.DataLoader(ds, batch_size=64, shuffle=True, num_workers=2,
                                                        drop_last=True))
        self.device = device
        self.netG, self.netD = Generator(size, 100, 128, 3).to(device), Discriminator(size, 128, 3).to(device)
        self.crit = nn.BCEWithLogitsLoss()
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def step(self) -> float:
        t0 = time.perf_counter()
        data, _ = self.data.next()
        waited = time.perf_counter() - t0
        real = data.to(self.device)
        b = real.size(0)
        ones, zeros = torch.ones(b, device=self.device), torch.zeros(b, device=self.device)
        self.netD.zero_grad()
        self.crit(self.netD(real), ones).backward()
        fake = self.netG(torch.randn(b, 100, device=self.device))
        self.crit(self.netD(fake.detach()), zeros).backward()
        self.optD.step()
        self.netG.zero_grad()
        self.crit(self.netD(fake), ones).backward()
        self.optG.step()
        return waited


# ----- a plain eager loop for the style-based kind (the project's networks, the reference's phases) ------
STYLE_SIZE, STYLE_BATCH = 64, 16  # the kind's CPU defaults at 64 px (a GPU run uses the same here)


def style_config():
    """The style-based kind's config for the bench: its defaults for 64 px and batch 16 (small
    capacity, the auto R1 weight and EMA half-life, DiffAugment as for a collection under 2,000)."""
    from studio.engine.data.dataset import DataConfig

    return get_kind("stylegan").default_config(DataConfig(size=STYLE_SIZE), {},
                                               {"batch": STYLE_BATCH, "diffaugment": True})


class CanonicalStyleGAN:
    """The same networks and losses as the kind, in the plain loop StyleGAN2-ADA's training_loop.py
    runs (fp32, NCHW): an ImageFolder + DataLoader(2 workers); a D phase on a fresh generated batch
    (generator under no_grad), lazy R1 every 16 steps; a G phase on another fresh batch through D,
    whose weight gradients autograd also computes (zeroed at the next D phase); an EMA of G; style
    mixing 0.9 and per-layer noise. ADA's augmentation is left out on both sides: at p = 0, where it
    starts, the kind skips it too."""

    images_per_step = STYLE_BATCH
    prep_seconds = 0.0

    def __init__(self, data_dir: Path, device: torch.device, tmp: Path):
        import copy

        import torchvision.datasets as dset
        import torchvision.transforms as T

        from studio.engine.models.stylegan.trainer import R1_INTERVAL, build_discriminator, build_generator

        cfg = self.cfg = style_config()
        root = tmp / "imagefolder"
        root.mkdir()
        (root / "class0").symlink_to(data_dir.resolve(), target_is_directory=True)
        ds = dset.ImageFolder(str(root), transform=T.Compose([
            T.Resize(cfg.size), T.CenterCrop(cfg.size), T.RandomHorizontalFlip(), T.ToTensor(),
            T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
        self.data = _Endless(torch.utils.data.DataLoader(ds, batch_size=cfg.batch, shuffle=True, num_workers=2,
                                                        drop_last=True))
        self.device = device
        self.G = build_generator(cfg).to(device)
        self.D = build_discriminator(cfg).to(device)  # the kind's critic, as wide as it trains it
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False)
        ratio = R1_INTERVAL / (R1_INTERVAL + 1)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.optD = torch.optim.Adam(self.D.parameters(), lr=cfg.lr * ratio,
                                     betas=(cfg.beta1**ratio, cfg.beta2**ratio))
        self.r1_interval, self.steps = R1_INTERVAL, 0

    def _fake(self, b: int) -> torch.Tensor:
        G, cfg, dev = self.G, self.cfg, self.device
        ws = G.mapping(torch.randn(b, cfg.z_dim, device=dev), track_w_avg=True)
        if torch.rand(()) < cfg.style_mixing:
            cut = int(torch.randint(1, G.num_ws, ()))
            ws = torch.cat([ws[:, :cut], G.mapping(torch.randn(b, cfg.z_dim, device=dev))[:, cut:]], dim=1)
        noise = [torch.randn(b, 1, *shape, device=dev) for shape in G.synthesis.noise_shapes()]
        return G.synthesis(ws, noise)

    def step(self) -> float:
        import torch.nn.functional as F

        t0 = time.perf_counter()
        data, _ = self.data.next()
        waited = time.perf_counter() - t0
        real = data.to(self.device)
        b, G, D = real.size(0), self.G, self.D
        # D phase
        self.optD.zero_grad()
        with torch.no_grad():
            fake = self._fake(b)
        (F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()).backward()
        if self.steps % self.r1_interval == 0:
            x = real.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
            (grad.square().flatten(1).sum(1).mean() * (self.cfg.r1_gamma / 2) * self.r1_interval).backward()
        self.optD.step()
        # G phase
        self.optG.zero_grad()
        F.softplus(-D(self._fake(b))).mean().backward()
        self.optG.step()
        with torch.no_grad():
            decay = 0.5 ** (b / (self.cfg.ema_kimg * 1000))
            for pe, p in zip(self.G_ema.parameters(), G.parameters()):
                pe.lerp_(p, 1 - decay)
            for be, bb in zip(self.G_ema.buffers(), G.buffers()):
                be.copy_(bb)
        self.steps += 1
        return waited


# ----- the project's trainers --------------------------------------------------------------------
class Studio:
    def __init__(self, trainer, prep_seconds: float):
        self.trainer, self.prep_seconds = trainer, prep_seconds
        self.images_per_step = trainer.images_per_step
        self.path = trainer.fast.describe()

    def step(self) -> float:
        self.trainer.step()
        return 0.0


def studio_trainer(kind_name: str, cfg, folders: dict[str, Path], device: torch.device, cache: Path) -> Studio:
    """The kind's trainer for `cfg` as a training session builds it: the data prepared (and cached)
    once, the fast path measured for this machine on the first round and remembered."""
    from studio.engine.config import RunSettings
    from studio.engine.data.dataset import DataConfig
    from studio.engine.train.fast_path import ChoiceCache, build_trainer

    kind = get_kind(kind_name)
    load = kind.load_config(cfg, DataConfig(size=cfg.size))
    t0 = time.perf_counter()
    # the kind's own preparation (pix2pix pairs its folders by name), cached in the bench's folder
    os.environ["GAN_STUDIO_CACHE"] = str(cache)
    roles = tuple(r for r in kind.roles if r.name in folders)
    datasets = kind.prepare_datasets(roles, {r: str(d) for r, d in folders.items()}, load, cfg)
    prep = time.perf_counter() - t0
    settings = RunSettings(steps=5000, device=device.type)

    def make(probe: bool):
        few = {r: dataclasses.replace(d, images=d.images[: 2 * cfg.batch]) for r, d in datasets.items()}
        return kind.make_trainer(cfg, settings, few if probe else datasets, device, SINGLE)

    trainer = build_trainer(kind.name, kind.approved_paths(), cfg, device, make,
                            cache=ChoiceCache(cache / "fast-paths.json"))
    return Studio(trainer, prep)


# The kinds this bench has a plain eager loop for (the canonical classes above).
BENCHED = ("dcgan", "gan", "stylegan", "cyclegan", "pix2pix")


def studio_side(mode: str, data: list[Path], device: torch.device, cache: Path, size: int) -> Studio:
    """GAN Studio's defaults for each mode (the configs a user gets, at the bench's sizes)."""
    if mode == "dcgan":
        from studio.engine.models.dcgan.trainer import DCGANConfig

        return studio_trainer(mode, DCGANConfig(size=64, batch=64), {"data": data[0]}, device, cache)
    if mode == "gan":
        from studio.engine.models.gan.trainer import GANConfig

        return studio_trainer(mode, GANConfig(size=32, batch=64), {"data": data[0]}, device, cache)
    if mode == "stylegan":
        return studio_trainer(mode, style_config(), {"data": data[0]}, device, cache)
    if mode == "pix2pix":
        from studio.engine.models.pix2pix.trainer import Pix2PixConfig

        return studio_trainer(mode, Pix2PixConfig(size=size), {"a": data[0], "b": data[1]}, device, cache)
    from studio.engine.models.cyclegan.trainer import CycleGANConfig

    return studio_trainer(mode, CycleGANConfig(size=size), {"a": data[0], "b": data[1]}, device, cache)


# ----- measurement ---------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _round(side, steps: int, warmup: int, device: torch.device) -> tuple[float, float]:
    """(images/s, share of the time spent waiting for data) over `steps` after `warmup` steps."""
    for _ in range(warmup):
        side.step()
    _sync(device)
    waited, t0 = 0.0, time.perf_counter()
    for _ in range(steps):
        waited += side.step()
    _sync(device)
    elapsed = time.perf_counter() - t0
    return steps * side.images_per_step / elapsed, waited / elapsed


def run_child(side: str, args: argparse.Namespace, data: list[Path], work: Path, steps: int, warmup: int) -> dict:
    """One round of one side in a fresh process; returns its JSON result."""
    cmd = [sys.executable, __file__, "--child", side, "--work", str(work), "--steps", str(steps), "--warmup",
           str(warmup), "--size", str(args.size), "--device", args.device, *map(str, data)]
    if args.fast_path_default:
        cmd.append("--fast-path-default")
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{side} round failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    work = Path(args.work)
    data = [Path(d) for d in args.data_dirs]
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        if args.fast_path_default:
            os.environ["GAN_STUDIO_FAST_PATH"] = "default"
        who, mode = args.child.split("-", 1)
        if who == "studio":
            side = studio_side(mode, data, device, work / "cache", args.size)
        elif mode == "dcgan":
            side = CanonicalDCGAN(data[0], device, Path(tmp))
        elif mode == "gan":
            side = CanonicalGAN(data[0], device, Path(tmp))
        elif mode == "stylegan":
            side = CanonicalStyleGAN(data[0], device, Path(tmp))
        elif mode == "pix2pix":
            side = CanonicalPix2Pix(data[0], data[1], device, args.size)
        else:
            side = CanonicalCycleGAN(data[0], data[1], device, args.size)
        ips, wait = _round(side, args.steps, args.warmup, device)
        print(json.dumps({"ips": ips, "wait": wait, "prep": side.prep_seconds, "path": getattr(side, "path", "")}))
    return 0


def compare(mode: str, args, data: list[Path], work: Path, steps: int, warmup: int, label: str) -> float:
    ratios, base_ips, our_ips, waits, prep = [], [], [], [], None
    for r in range(args.rounds):
        b = run_child(f"canonical-{mode}", args, data, work, steps, warmup)
        o = run_child(f"studio-{mode}", args, data, work, steps, warmup)
        prep = o["prep"] if prep is None else prep  # the first round decodes; later ones load the cache
        ratios.append(o["ips"] / b["ips"])
        base_ips.append(b["ips"])
        our_ips.append(o["ips"])
        waits.append(b["wait"])
        print(f"  round {r + 1}: canonical {b['ips']:7.2f} images/s (waiting for data {b['wait']:4.0%}),"
              f" GAN Studio {o['ips']:7.2f} images/s -> {ratios[-1]:.2f}x", flush=True)
        print(f"    GAN Studio's fast path: {o['path']}", flush=True)
    ratio = statistics.median(ratios)
    print(f"{label}: canonical {statistics.median(base_ips):.2f} images/s (data wait"
          f" {statistics.median(waits):.0%}), GAN Studio {statistics.median(our_ips):.2f} images/s"
          f" (dataset prepared once in {prep:.1f} s) -> ratio {ratio:.2f}x (median of {args.rounds} rounds)",
          flush=True)
    return ratio


def source_folder(folder: Path, kind: str, seed: int = 0, count: int | None = None) -> Path:
    """Procedural images stored like a user's collection of `kind` (see SOURCES)."""
    from PIL import Image

    from studio.engine.data.procedural import discs

    w, h, default_count, fmt, grain = SOURCES[kind]
    count = count or default_count
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    side = max(w, h)
    base = discs(count, min(side, 256), seed=seed)
    for i, pic in enumerate(base):
        im = Image.fromarray(pic)
        if im.size != (w, h):
            im = im.resize((side, side), Image.BICUBIC).crop(((side - w) // 2, (side - h) // 2,
                                                               (side - w) // 2 + w, (side - h) // 2 + h))
        if grain:  # sensor-like noise: without it smooth shapes compress (and decode) unlike photos
            arr = np.asarray(im, dtype=np.float32) + rng.normal(0, grain, (h, w, 1)).astype(np.float32)
            im = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
        im.save(folder / f"img{i:05d}.{fmt}", **({"quality": 90} if fmt == "jpg" else {}))
    return folder


def _describe_folder(folder: Path) -> str:
    files = [p for p in folder.iterdir() if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    return f"{len(files)} files, {size / len(files) / 1e3:.0f} kB each on average"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", help="image folder (DCGAN, GAN) or a folder with A/ and B/ (CycleGAN)")
    ap.add_argument("--mode", choices=(*BENCHED, "all"), default="dcgan",
                    help="a model kind, or all of those with a plain loop here")
    ap.add_argument("--source", choices=(*SOURCES, "all"), default=None,
                    help="procedural folder kind when no DATA_DIR is given (default: all, one after another, "
                         "for DCGAN; tiny for GAN)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="timed steps per round (default 8 DCGAN, 20 GAN; "
                                                            "CycleGAN 2 on a CPU, 50 on a GPU)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps before each round (default 2; 1 for "
                                                             "CycleGAN on a CPU)")
    ap.add_argument("--size", type=int, default=None,
                    help="CycleGAN and pix2pix crop size (default 256; 64 with --quick)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--quick", action="store_true", help="one short round per mode: checks the script, not speed")
    ap.add_argument("--fast-path-default", action="store_true",
                    help="GAN Studio on the device's built-in default path instead of the one measured here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("data_dirs", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.data:
            args.data_dirs.insert(0, args.data)
        return child(args)
    if args.quick:
        args.rounds, args.steps, args.warmup = 1, args.steps or 1, 1 if args.warmup is None else args.warmup
    args.size = args.size or (64 if args.quick else 256)

    device = pick_device(args.device)
    cpu = device.type == "cpu"
    print(f"device: {describe_device(device)}  torch {torch.__version__}  threads {torch.get_num_threads()}")
    modes = list(BENCHED) if args.mode == "all" else [args.mode]
    if args.mode == "all" and set(KINDS) - set(BENCHED):
        print(f"no plain loop here yet for: {', '.join(sorted(set(KINDS) - set(BENCHED)))}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for mode in modes:
            work_root = tmp / mode
            work_root.mkdir()
            if get_kind(mode).capabilities.translates:
                results.update(_translation_mode(mode, args, work_root, cpu))
            else:
                results.update(_latent_mode(mode, args, work_root, cpu))
    print("\nsummary (GAN Studio / canonical, images per second):")
    for label, ratio in results.items():
        print(f"  {label}: {ratio:.2f}x")
    return 0


def _latent_mode(mode: str, args, tmp: Path, cpu: bool) -> dict[str, float]:
    """DCGAN or GAN: one comparison per source folder."""
    gan, style = mode == "gan", mode == "stylegan"
    # the style-based kind: 17 steps, so the R1 step (every 16th) is timed once a round on both sides
    steps = args.steps or ((20 if gan else 17 if style else 8) if cpu else 100)
    warmup = args.warmup if args.warmup is not None else (2 if cpu else 10)
    source = args.source or ("tiny" if gan or style or args.quick else "all")
    kinds = [None] if args.data else (list(SOURCES) if source == "all" else [source])
    label_base = ("GAN (2014) 32 px batch 64" if gan else
                  f"Style-based {STYLE_SIZE} px batch {STYLE_BATCH}" if style else "DCGAN 64 px batch 64")
    results = {}
    for kind in kinds:
        work = tmp / (kind or "user")
        work.mkdir()
        data = Path(args.data) if args.data else source_folder(work / "images", kind,
                                                               count=128 if args.quick else None)
        label = f"{label_base}, {kind or data}"
        print(f"\n{label}: {_describe_folder(data)}", flush=True)
        results[label] = compare(mode, args, [data], work, steps, warmup, label)
    return results


def _translation_mode(mode: str, args, tmp: Path, cpu: bool) -> dict[str, float]:
    steps = args.steps or (2 if cpu else 50)
    warmup = args.warmup if args.warmup is not None else (1 if cpu else 10)
    if args.data:
        dir_a, dir_b = Path(args.data) / "A", Path(args.data) / "B"
    else:
        count = 8 if args.quick else 64
        dir_a = source_folder(tmp / "A", "web", seed=0, count=count)
        dir_b = source_folder(tmp / "B", "web", seed=1, count=count)
    label = f"{get_kind(mode).title} {args.size} px batch 1"
    print(f"\n{label}: A {_describe_folder(dir_a)}; B {_describe_folder(dir_b)}", flush=True)
    return {label: compare(mode, args, [dir_a, dir_b], tmp, steps, warmup, label)}


if __name__ == "__main__":
    sys.exit(main())
