"""Small collections: DiffAugment on vs off at equal steps (a report, not a test).

    python bench/small_collection.py [--count 300] [--size 32] [--minutes 4] [--steps N] [--out DIR]

Trains the same DCGAN (same seed, same data order) on `count` procedural disc images twice, with and without
DiffAugment, one thread each, one after the other, for the same number of steps: `--steps`, or as many as
the DiffAugment arm does in `--minutes` (timed on 20 steps first). At a few checkpoints along the way it measures:

- SWD to the training images (trainer.quality(); x1e3, lower is better) and the diversity of samples,
- SWD to 1,000 held-out images of the same kind the model never saw (does it generalise?),
- D's overfitting: its mean logit on training images minus on held-out real images (near 0 = D cannot tell
  the images it trained on from new real ones; large = D memorised the collection),
- the copy ratio of 64 samples (memorization.NearestImages, pixel space; ~1 = as far from the nearest
  training image as training images are from each other, near 0 = copies).

Writes sample grids (upscaled 3x) and a results table to --out (default /tmp/small_collection).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # progress shows up in logs as it happens
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--minutes", type=float, default=4.0, help="time per arm (steps calibrated on DiffAugment)")
    ap.add_argument("--steps", type=int, default=None, help="fixed steps for both arms instead of --minutes")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--width", type=int, default=64, help="ngf = ndf")
    ap.add_argument("--evals", type=int, default=6, help="measurements along each run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="/tmp/small_collection")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)  # other work shares the machine; equal conditions for both arms
    from studio.engine.data.procedural import discs
    from studio.engine.explore.nearest_images import NearestImages
    from studio.engine.images import make_grid, save_png
    from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer
    from studio.engine.train.metrics import swd

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train_np = discs(args.count, args.size, seed=args.seed)
    held_np = discs(1000, args.size, seed=args.seed + 10_000)
    train = torch.from_numpy(train_np).permute(0, 3, 1, 2).contiguous()
    held = torch.from_numpy(held_np).permute(0, 3, 1, 2).contiguous()
    save_png(out / "real.png", _upscale(make_grid(train_np[:64], nrow=8), 3))
    index = NearestImages(train_np)

    def measure(t: DCGANTrainer) -> dict:
        q = t.quality()
        z = torch.randn(256, t.cfg.z_dim, generator=torch.Generator().manual_seed(99))
        fake = t.generate(z)
        with torch.no_grad():
            t.D.eval()
            pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(5))[:256]
            logit_train = t.D(train[pick].float().div(127.5).sub(1)).mean().item()
            logit_held = t.D(held[:256].float().div(127.5).sub(1)).mean().item()
            t.D.train()
        copy = float(np.median([n.copy_ratio for n in index.query_many(fake[:64], k=1)]))
        return {"step": t.global_step, "swd_train": q["swd"], "swd_heldout": swd(fake, held_np[:256]),
                "diversity": q["diversity"], "D_gap": logit_train - logit_held, "copy_ratio": copy}

    results: dict[str, list[dict]] = {}
    timing: dict[str, float] = {}
    steps = args.steps
    for arm in ("diffaugment", "plain"):
        cfg = DCGANConfig(size=args.size, batch=args.batch, ngf=args.width, ndf=args.width,
                          diffaugment=arm == "diffaugment")
        if steps is None:  # calibrate: as many steps as fit in --minutes for this (slower) arm
            probe = DCGANTrainer(cfg, train, seed=args.seed)
            probe.step()
            tick = time.perf_counter()
            for _ in range(20):
                probe.step()
            steps = max(args.evals, int(args.minutes * 60 / ((time.perf_counter() - tick) / 20)))
            print(f"{steps} steps per arm (~{args.minutes:g} min with DiffAugment)")
        t = DCGANTrainer(cfg, train, seed=args.seed)
        rows = [measure(t)]
        start = time.perf_counter()
        marks = sorted({max(1, round(steps * (i + 1) / args.evals)) for i in range(args.evals)})
        for mark in marks:
            while t.global_step < mark:
                t.step()
            rows.append(measure(t))
            figures = ", ".join(f"{k} {v:.3f}" for k, v in rows[-1].items() if k != "step")
            print(f"  {arm:11s} step {mark:5d}: {figures}")
            if mark in (marks[len(marks) // 2 - 1], marks[-1]):
                save_png(out / f"{arm}-step{mark:05d}.png", _upscale(t.samples(), 3))
        timing[arm] = time.perf_counter() - start
        results[arm] = rows

    print(f"\n{args.count} disc images at {args.size} px, batch {args.batch}, width {args.width}, {steps} steps each "
          f"({timing['diffaugment']:.0f} s with DiffAugment, {timing['plain']:.0f} s without; 1 thread)\n")
    keys = ["swd_train", "swd_heldout", "diversity", "D_gap", "copy_ratio"]
    print(f"| {'step':>5} | {'arm':11} | " + " | ".join(f"{k:>11}" for k in keys) + " |")
    print("|" + "---|" * (len(keys) + 2))
    for i in range(len(results["plain"])):
        for arm in ("plain", "diffaugment"):
            r = results[arm][i]
            print(f"| {r['step']:5d} | {arm:11} | " + " | ".join(f"{r[k]:11.3f}" for k in keys) + " |")
    (out / "results.json").write_text(json.dumps({"args": vars(args), "steps": steps, "seconds": timing,
                                                  "results": results}, indent=1))
    print(f"\ngrids and results.json in {out}")
    return 0


def _upscale(picture: np.ndarray, k: int) -> np.ndarray:
    return picture.repeat(k, axis=0).repeat(k, axis=1)


if __name__ == "__main__":
    sys.exit(main())
