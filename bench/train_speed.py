"""Training throughput of GAN Studio against the canonical eager loop, measured in the same run.

    python bench/train_speed.py [DATA_DIR] [--mode dcgan] [--steps N] [--device auto]

DCGAN mode: the project's trainer (64 px, batch 64, its default fast path, in-memory uint8 data)
against the pytorch/examples dcgan recipe (torchvision ImageFolder + DataLoader(2 workers) +
fp32 + Sigmoid/BCELoss) on the same folder and device. Prints images/s of both and the ratio.
Without DATA_DIR a folder of 1,000 procedural 256 px JPEGs (stand-ins for a user's photos, which
are larger than the training size) is generated first.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


# ----- the canonical loop (pytorch/examples/dcgan/main.py, trimmed to the training step) ------------
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


def canonical_dcgan(data_dir: Path, steps: int, warmup: int, device: torch.device, batch: int = 64) -> float:
    import torchvision.datasets as dset
    import torchvision.transforms as T

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "class0").symlink_to(data_dir.resolve(), target_is_directory=True)  # ImageFolder wants classes
        ds = dset.ImageFolder(str(root), transform=T.Compose([
            T.Resize(64), T.CenterCrop(64), T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
        loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=2, drop_last=True,
                                             persistent_workers=True)
        netG, netD = _ExamplesG().to(device), _ExamplesD().to(device)
        crit = nn.BCELoss()
        optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        done, t0 = 0, None
        while done < warmup + steps:
            for data, _ in loader:
                if done == warmup:
                    _sync(device)
                    t0 = time.perf_counter()
                real = data.to(device)
                b = real.size(0)
                netD.zero_grad()
                errD_real = crit(netD(real), torch.full((b,), 1.0, device=device))
                errD_real.backward()
                fake = netG(torch.randn(b, 100, 1, 1, device=device))
                errD_fake = crit(netD(fake.detach()), torch.full((b,), 0.0, device=device))
                errD_fake.backward()
                optD.step()
                netG.zero_grad()
                errG = crit(netD(fake), torch.full((b,), 1.0, device=device))
                errG.backward()
                optG.step()
                done += 1
                if done >= warmup + steps:
                    break
        _sync(device)
        return steps * batch / (time.perf_counter() - t0)


def studio_dcgan(data_dir: Path, steps: int, warmup: int, device: torch.device, cache: Path) -> tuple[float, float]:
    """Returns (images/s of the training steps, seconds to prepare the dataset from a cold cache)."""
    from studio.engine.data import DataConfig, prepare_dataset
    from studio.engine.dcgan_trainer import DCGANConfig, DCGANTrainer

    t0 = time.perf_counter()
    ds = prepare_dataset(data_dir, DataConfig(size=64), cache_dir=cache)
    prep = time.perf_counter() - t0
    trainer = DCGANTrainer(fast_dcgan_config(device), ds.images, device=device)
    for _ in range(warmup):
        trainer.step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    _sync(device)
    return steps * 64 / (time.perf_counter() - t0), prep


def fast_dcgan_config(device: torch.device):
    from studio.engine.dcgan_trainer import DCGANConfig

    return DCGANConfig(size=64, batch=64)  # the defaults a user gets


def _photo_like_folder(folder: Path, count: int = 1000, side: int = 256) -> Path:
    """Procedural images stored like a user's photos: larger than the training size, as JPEG."""
    from studio.engine.images import to_pil
    from studio.engine.procedural import discs

    folder.mkdir(parents=True)
    for i, pic in enumerate(discs(count, side, seed=0)):
        to_pil(pic).save(folder / f"img{i:05d}.jpg", quality=90)
    return folder


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="?", help="image folder (default: 1,000 procedural 256 px JPEGs, like small photos)")
    ap.add_argument("--mode", choices=("dcgan",), default="dcgan")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()

    from studio.engine.device import describe_device, pick_device

    device = pick_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(args.data) if args.data else _photo_like_folder(Path(tmp) / "discs")
        print(f"device: {describe_device(device)}  torch {torch.__version__}  data: {data}")
        base = canonical_dcgan(data, args.steps, args.warmup, device)
        print(f"canonical eager loop (ImageFolder + DataLoader(2) + fp32 + BCE): {base:8.1f} images/s")
        ours, prep = studio_dcgan(data, args.steps, args.warmup, device, Path(tmp) / "cache")
        print(f"GAN Studio DCGAN trainer (in-memory uint8, defaults):          {ours:8.1f} images/s"
              f"   (dataset prepared once in {prep:.1f} s)")
        print(f"ratio: {ours / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
