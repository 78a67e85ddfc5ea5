"""Does self-attention (the DCGAN's "attention" preset, SAGAN) help with a long-range dependency?

    OMP_NUM_THREADS=1 python bench/attention_long_range.py [--steps 800] [--seeds 0 1] [--width 32]

The data: 32 px pictures with two discs in opposite corners (top-left and bottom-right, jittered)
that always share a colour, drawn from 8 clearly different colours; the pair's colour is random.
Each corner alone looks like the data whatever its colour: only relating the two corners tells a
right picture from a wrong one. Score, lower is better: the mean colour distance between the two
discs of generated samples (EMA generator, 256 samples), relative to two discs of independently
drawn colours (1.0 = no agreement at all, 0 = always the same colour, as in the data). The same
network is trained with and without attention (the preset's spectral norm, hinge loss and
learning rates in both), for equal steps from the same seeds; SWD (x1e3) is printed alongside.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.engine.models.dcgan.trainer import ATTENTION_PRESET, DCGANConfig, DCGANTrainer  # noqa: E402

COLOURS = np.array([(220, 40, 40), (40, 170, 60), (40, 70, 220), (230, 200, 30), (160, 50, 200), (30, 190, 200),
                    (240, 120, 20), (20, 20, 20)])
BG = 235


def paired_discs(count: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """uint8 (N, size, size, 3): two discs of one colour in opposite corners on light grey."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), np.uint8)
    s = size * 4
    for i in range(count):
        im = Image.new("RGB", (s, s), (BG, BG, BG))
        d = ImageDraw.Draw(im)
        colour = tuple(int(v) for v in COLOURS[rng.integers(len(COLOURS))])
        for corner in (0, 1):
            r = rng.uniform(0.12, 0.17) * s
            c = rng.uniform(0.18, 0.3, 2) * s
            cx, cy = (c if corner == 0 else s - c)
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        out[i] = np.asarray(im.resize((size, size), Image.Resampling.BOX))
    return out


def corner_colours(pictures: np.ndarray) -> np.ndarray:
    """(N, 2, 3): the mean colour of the disc pixels (far from the background) in each corner quarter;
    a quarter without any counts as background."""
    n, h, w, _ = pictures.shape
    p = pictures.astype(np.float64)
    out = np.empty((n, 2, 3))
    for k, (ys, xs) in enumerate(((slice(0, h // 2), slice(0, w // 2)), (slice(h // 2, h), slice(w // 2, w)))):
        q = p[:, ys, xs].reshape(n, -1, 3)
        mask = np.abs(q - BG).sum(-1) > 90
        total = np.maximum(mask.sum(1, keepdims=True), 1)
        out[:, k] = np.where(mask.any(1, keepdims=True), (q * mask[..., None]).sum(1) / total, BG)
    return out


def mismatch(pictures: np.ndarray) -> float:
    c = corner_colours(pictures)
    same = np.linalg.norm(c[:, 0] - c[:, 1], axis=1).mean()
    shuffled = np.linalg.norm(c[:, 0] - np.roll(c[:, 1], 1, axis=0), axis=1).mean()  # independent colours
    return float(same / max(shuffled, 1e-6))


def run(attention: bool, steps: int, seed: int, width: int, images: torch.Tensor) -> dict:
    cfg = DCGANConfig(**{**ATTENTION_PRESET, "attention": attention}, size=32, z_dim=64, ngf=width, ndf=width,
                      batch=32, precision="fp32", preview_count=16, diffaugment=False, flip=False)
    t = DCGANTrainer(cfg, images, seed=seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        t.step()
    z = torch.randn(256, cfg.z_dim, generator=torch.Generator().manual_seed(99))
    gammas = [float(m.gamma) for m in t.G.modules() if hasattr(m, "gamma")]
    return {"mismatch": mismatch(t.generate(z)), "swd": t.quality()["swd"], "s": time.perf_counter() - t0,
            "gamma_G": gammas}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--width", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = paired_discs(2000, seed=1)
    images = torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()
    print(f"data: mismatch {mismatch(paired_discs(256, seed=2)):.3f} (real pictures); 32 px, {args.steps} steps, "
          f"width {args.width}")
    results = {False: [], True: []}
    for seed in args.seeds:
        for attention in (False, True):
            r = run(attention, args.steps, seed, args.width, images)
            results[attention].append(r)
            print(f"seed {seed} {'attention   ' if attention else 'no attention'}: mismatch {r['mismatch']:.3f}  "
                  f"SWD {r['swd']:.1f}  ({r['s']:.0f} s)  gamma {r['gamma_G']}", flush=True)
    for attention in (False, True):
        m = [r["mismatch"] for r in results[attention]]
        s = [r["swd"] for r in results[attention]]
        name = "attention   " if attention else "no attention"
        print(f"{name}: mean mismatch {np.mean(m):.3f}, mean SWD {np.mean(s):.1f}")


if __name__ == "__main__":
    main()
