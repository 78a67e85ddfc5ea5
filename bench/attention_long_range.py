"""Does self-attention (the DCGAN's "attention" preset, SAGAN) help with a long-range dependency?

    OMP_NUM_THREADS=1 python bench/attention_long_range.py [--steps 2000] [--eval-every 500] [--seeds 0 1 2]
                                                           [--sides 16 8] [--width 32]

The data: 32 px pictures with two discs in opposite corners (top-left and bottom-right, jittered)
that always share a colour, drawn from 8 clearly different colours; the pair's colour is random.
Each corner alone looks like the data whatever its colour: only relating the two corners tells a
right picture from a wrong one. Score, lower is better: the mean colour distance between the two
discs of generated samples (EMA generator, 256 samples), relative to two discs of independently
drawn colours (1.0 = no agreement at all, 0 = always the same colour, as in the data; the bench
prints both ends measured on real pictures first). The ratio is taken against the samples' own
colours, so a generator that draws one colour everywhere would also score near 0: "spread" (the
mean distance between discs of different samples, relative to the data's) and "same" (the share
of samples whose two discs are nearest the same of the 8 colours; 1/8 by chance) tell those
apart. The same network is trained with and without attention (the preset's spectral norm, hinge
loss and learning rates in both), for equal steps from the same seeds; SWD (x1e3) alongside.
`--sides` puts the attention blocks on G's and D's maps of that side (16: the preset's place at
32 px, G's last hidden map and D's first; 8: one level coarser).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import studio.engine.models.dcgan.nets as dcgan_nets  # noqa: E402
from studio.engine.models.attention import SelfAttention  # noqa: E402
from studio.engine.models.dcgan.trainer import ATTENTION_PRESET, DCGANConfig, DCGANTrainer  # noqa: E402

COLOURS = np.array([(220, 40, 40), (40, 170, 60), (40, 70, 220), (230, 200, 30), (160, 50, 200), (30, 190, 200),
                    (240, 120, 20), (20, 20, 20)])
BG = 235
DRAWN = 75


def paired_discs(count: int, size: int = 32, seed: int = 0, independent: bool = False) -> np.ndarray:
    """uint8 (N, size, size, 3): two discs of one colour in opposite corners on light grey
    (`independent`: each disc's colour drawn on its own, the score's 1.0 end)."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), np.uint8)
    s = size * 4
    for i in range(count):
        im = Image.new("RGB", (s, s), (BG, BG, BG))
        d = ImageDraw.Draw(im)
        colour = tuple(int(v) for v in COLOURS[rng.integers(len(COLOURS))])
        for corner in (0, 1):
            if independent and corner == 1:
                colour = tuple(int(v) for v in COLOURS[rng.integers(len(COLOURS))])
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


def agreement(pictures: np.ndarray, reference: np.ndarray) -> dict:
    """"same": share of pictures whose two corners both hold a disc of a palette colour (within
    DRAWN of it: the data's blended edges stay within 68; flat mid-grey is 185 from black)
    and the same one; "spread": distance between discs of different pictures relative to
    `reference`'s."""
    c = corner_colours(pictures)
    dist = np.linalg.norm(c[:, :, None] - COLOURS[None, None], axis=-1)  # (N, 2, colours)
    nearest, drawn = dist.argmin(-1), (dist.min(-1) < DRAWN).all(1)

    def spread(x: np.ndarray) -> float:
        return float(np.linalg.norm(x[:, 0] - np.roll(x[:, 1], 1, axis=0), axis=1).mean())

    return {"same": float((drawn & (nearest[:, 0] == nearest[:, 1])).mean()),
            "spread": spread(c) / max(spread(corner_colours(reference)), 1e-6)}


def build(attention: bool, side: int, seed: int, width: int, images: torch.Tensor) -> DCGANTrainer:
    cfg = DCGANConfig(**{**ATTENTION_PRESET, "attention": attention}, size=32, z_dim=64, ngf=width, ndf=width,
                      batch=32, precision="fp32", preview_count=16, diffaugment=False, flip=False)
    # The nets place their blocks where attention_side says; the bench moves them for the comparison
    # of placements only (the preset's place is attention_side's).
    default = dcgan_nets.attention_side
    dcgan_nets.attention_side = lambda size: side
    try:
        return DCGANTrainer(cfg, images, seed=seed)
    finally:
        dcgan_nets.attention_side = default


def evaluate(t: DCGANTrainer, reference: np.ndarray) -> dict:
    z = torch.randn(256, t.cfg.z_dim, generator=torch.Generator().manual_seed(99))
    fake = t.generate(z)
    gammas = {name: [round(float(m.gamma.detach()), 4) for m in net.modules() if isinstance(m, SelfAttention)]
              for name, net in (("G", t.G), ("D", t.D))}
    return {"mismatch": mismatch(fake), **agreement(fake, reference), **t.quality(), "gamma": gammas}


def save_grid(t: DCGANTrainer, path: Path) -> None:
    pics = t.generate(torch.randn(64, t.cfg.z_dim, generator=torch.Generator().manual_seed(99)))
    n, h, w, c = pics.shape
    grid = pics.reshape(8, 8, h, w, c).transpose(0, 2, 1, 3, 4).reshape(8 * h, 8 * w, c)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).resize((8 * w * 4, 8 * h * 4), Image.Resampling.NEAREST).save(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--eval-every", type=int, default=0, help="also score every N steps (0: at the end only)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--sides", type=int, nargs="+", default=[16], help="attention map sides to compare")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--grids", type=Path, help="folder for an 8x8 grid of each arm's final samples (PNG, 4x)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = paired_discs(2000, seed=1)
    images = torch.from_numpy(data).permute(0, 3, 1, 2).contiguous()
    reference = paired_discs(256, seed=2)
    independent = paired_discs(256, seed=3, independent=True)
    print(f"data: mismatch {mismatch(reference):.3f} same {agreement(reference, reference)['same']:.2f} (real "
          f"pictures), {mismatch(independent):.3f} same {agreement(independent, reference)['same']:.2f} "
          f"(independent colours); 32 px, {args.steps} steps, width {args.width}, load {os.getloadavg()[0]:.1f}")
    evals = sorted({*range(args.eval_every, args.steps, args.eval_every or args.steps), args.steps})
    arms = [(False, 0)] + [(True, side) for side in args.sides]
    final: dict[tuple[bool, int], list[dict]] = {arm: [] for arm in arms}
    for seed in args.seeds:
        # The arms advance together, an interval at a time, so that a run cut short (a busy machine)
        # still compares them at equal steps.
        trainers = {arm: build(*arm, seed, args.width, images) for arm in arms}
        cpu, done = dict.fromkeys(arms, 0.0), 0
        for at in evals:
            for arm, t in trainers.items():
                c0 = time.process_time()
                for _ in range(at - done):
                    t.step()
                cpu[arm] += time.process_time() - c0
                r = evaluate(t, reference)
                name = f"attention {arm[1]}x{arm[1]}" if arm[0] else "no attention"
                print(f"seed {seed} {name:<17} step {at:>5}: mismatch {r['mismatch']:.3f}  same {r['same']:.2f}  "
                      f"spread {r['spread']:.2f}  SWD {r['swd']:.1f}  diversity {r['diversity']:.2f}  "
                      f"({cpu[arm] / 60:.1f} CPU min, load {os.getloadavg()[0]:.1f})  gamma {r['gamma']}", flush=True)
                if at == evals[-1]:
                    final[arm].append(r)
                    if args.grids:
                        save_grid(t, args.grids / f"seed{seed}-{name.replace(' ', '-')}.png")
            done = at
    for attention, side in arms:
        rs = final[(attention, side)]
        name = f"attention {side}x{side}" if attention else "no attention"
        print(f"{name:<17}: mean mismatch {np.mean([r['mismatch'] for r in rs]):.3f}, same "
              f"{np.mean([r['same'] for r in rs]):.2f}, SWD {np.mean([r['swd'] for r in rs]):.1f}")


if __name__ == "__main__":
    main()
