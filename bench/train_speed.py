"""Training throughput of GAN Studio against the canonical eager loop, measured in the same run.

    python bench/train_speed.py [DATA_DIR] [--mode dcgan|cyclegan] [--source photos|web|thumbs|tiny|all]
                                [--rounds 3] [--steps N] [--device auto]

DCGAN mode (64 px, batch 64): the project's trainer with its defaults (resident uint8 dataset,
the device's fast path: channels_last, with bf16 autocast and the small-map matmuls on a CPU that
computes bf16 natively, fp32 on other CPUs, bf16 autocast on a GPU; frozen D in the G step)
against the pytorch/examples dcgan recipe (torchvision ImageFolder +
DataLoader(2 workers) + fp32 + Sigmoid/BCELoss, NCHW) on the same folder and device.

CycleGAN mode (256 px, batch 1): the project's trainer against the reference repository's
training loop (unaligned A/B ImageFolder-style dataset, Resize(286, bicubic) + RandomCrop(256) +
flip in DataLoader(2 workers), fp32, the same ResNet-9 generators and 70x70 PatchGANs, LSGAN,
image pools, D frozen during the G step).

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
import json
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
from studio.engine.models import get_kind  # noqa: E402

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


class CanonicalCycleGAN:
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
        t0 = time.perf_counter()
        a, b = self.data.next()
        waited = time.perf_counter() - t0
        real_a, real_b = a.to(self.device), b.to(self.device)
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


# ----- the project's trainers --------------------------------------------------------------------
class Studio:
    def __init__(self, trainer, prep_seconds: float):
        self.trainer, self.prep_seconds = trainer, prep_seconds
        self.images_per_step = trainer.images_per_step

    def step(self) -> float:
        self.trainer.step()
        return 0.0


def studio_dcgan(data_dir: Path, device: torch.device, cache: Path) -> Studio:
    from studio.engine.data.dataset import DataConfig, prepare_dataset
    from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer

    t0 = time.perf_counter()
    ds = prepare_dataset(data_dir, DataConfig(size=64), cache_dir=cache)
    prep = time.perf_counter() - t0
    return Studio(DCGANTrainer(DCGANConfig(size=64, batch=64), ds.images, device=device), prep)  # user defaults


def studio_cyclegan(dir_a: Path, dir_b: Path, device: torch.device, cache: Path, size: int) -> Studio:
    from studio.engine.data.dataset import DataConfig, prepare_dataset
    from studio.engine.models.cyclegan.trainer import CycleGANConfig, CycleGANTrainer

    cfg = CycleGANConfig(size=size)
    t0 = time.perf_counter()
    a, b = (prepare_dataset(d, DataConfig(size=cfg.load_size), cache_dir=cache).images for d in (dir_a, dir_b))
    prep = time.perf_counter() - t0
    return Studio(CycleGANTrainer(cfg, a, b, device=device), prep)


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
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{side} round failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    work = Path(args.work)
    data = [Path(d) for d in args.data_dirs]
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        if args.child == "canonical-dcgan":
            side = CanonicalDCGAN(data[0], device, Path(tmp))
        elif args.child == "studio-dcgan":
            side = studio_dcgan(data[0], device, work / "cache")
        elif args.child == "canonical-cyclegan":
            side = CanonicalCycleGAN(data[0], data[1], device, args.size)
        else:
            side = studio_cyclegan(data[0], data[1], device, work / "cache", args.size)
        ips, wait = _round(side, args.steps, args.warmup, device)
        print(json.dumps({"ips": ips, "wait": wait, "prep": side.prep_seconds}))
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
    ap.add_argument("data", nargs="?", help="image folder (DCGAN) or a folder with A/ and B/ (CycleGAN)")
    ap.add_argument("--mode", choices=("dcgan", "cyclegan"), default="dcgan")
    ap.add_argument("--source", choices=(*SOURCES, "all"), default="all",
                    help="procedural folder kind when no DATA_DIR is given (default: all, one after another)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=None, help="timed steps per round (default 8 DCGAN; CycleGAN 2 "
                                                            "on a CPU, 50 on a GPU)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps before each round (default 2; 1 for "
                                                             "CycleGAN on a CPU)")
    ap.add_argument("--size", type=int, default=256, help="CycleGAN crop size")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    ap.add_argument("data_dirs", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        if args.data:
            args.data_dirs.insert(0, args.data)
        return child(args)

    device = pick_device(args.device)
    cpu = device.type == "cpu"
    print(f"device: {describe_device(device)}  torch {torch.__version__}  threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not get_kind(args.mode).capabilities.translates:  # DCGAN mode; CycleGAN below
            steps = args.steps or (8 if cpu else 100)
            warmup = args.warmup if args.warmup is not None else (2 if cpu else 10)
            kinds = [None] if args.data else (list(SOURCES) if args.source == "all" else [args.source])
            results = {}
            for kind in kinds:
                work = tmp / (kind or "user")
                work.mkdir()
                data = Path(args.data) if args.data else source_folder(work / "images", kind)
                label = f"DCGAN 64 px batch 64, {kind or data}"
                print(f"\n{label}: {_describe_folder(data)}", flush=True)
                results[label] = compare("dcgan", args, [data], work, steps, warmup, label)
        else:
            steps = args.steps or (2 if cpu else 50)
            warmup = args.warmup if args.warmup is not None else (1 if cpu else 10)
            if args.data:
                dir_a, dir_b = Path(args.data) / "A", Path(args.data) / "B"
            else:
                dir_a = source_folder(tmp / "A", "web", seed=0, count=64)
                dir_b = source_folder(tmp / "B", "web", seed=1, count=64)
            label = f"CycleGAN {args.size} px batch 1"
            print(f"\n{label}: A {_describe_folder(dir_a)}; B {_describe_folder(dir_b)}", flush=True)
            results = {label: compare("cyclegan", args, [dir_a, dir_b], tmp, steps, warmup, label)}
    print("\nsummary (GAN Studio / canonical, images per second):")
    for label, ratio in results.items():
        print(f"  {label}: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
