"""Does the fast path keep quality? Train the same DCGAN config in fp32 and on the fast path
(bf16 autocast + channels_last) for equal steps from 3 seeds each, and compare the sliced
Wasserstein distance (SWD, x1e3, lower is better) of EMA-generator samples to held-out data.

    python bench/quality_check.py [--steps 600] [--size 32] [--seeds 0 1 2]

Verdict: the fast path passes when its mean SWD lies within the fp32 seeds' spread (min..max,
widened by 10% of the fp32 mean for the noise of the metric itself).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.engine.dcgan_trainer import DCGANConfig, DCGANTrainer  # noqa: E402
from studio.engine.images import save_png  # noqa: E402
from studio.engine.metrics import swd  # noqa: E402
from studio.engine.procedural import discs  # noqa: E402


def train_and_score(cfg: DCGANConfig, data: torch.Tensor, held_out, steps: int, seed: int, shots: Path | None):
    t = DCGANTrainer(cfg, data, seed=seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        t.step()
    elapsed = time.perf_counter() - t0
    z = torch.randn(len(held_out), cfg.z_dim, generator=torch.Generator().manual_seed(1000 + seed))
    score = swd(t.generate(z), held_out, seed=seed)
    if shots is not None:
        save_png(shots / f"{cfg.precision}{'-cl' if cfg.channels_last else ''}-seed{seed}.png", t.samples())
    return score, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--shots", type=Path, default=None, help="folder for the final sample grids")
    args = ap.parse_args()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    data = torch.from_numpy(discs(2000, args.size, seed=0)).permute(0, 3, 1, 2).contiguous()
    held_out = discs(512, args.size, seed=1)
    base = dict(size=args.size, batch=64, ngf=args.width, ndf=args.width)
    paths = {
        "fp32": DCGANConfig(**base, precision="fp32", channels_last=False),
        "fast (bf16 + channels_last)": DCGANConfig(**base, precision="bf16", channels_last=True),
    }
    results = {}
    for name, cfg in paths.items():
        results[name] = [train_and_score(cfg, data, held_out, args.steps, s, args.shots) for s in args.seeds]
        scores = [r[0] for r in results[name]]
        secs = sum(r[1] for r in results[name])
        print(f"{name:28s} SWD per seed: {', '.join(f'{x:6.1f}' for x in scores)}   "
              f"mean {statistics.mean(scores):6.1f}   train time {secs:6.1f} s")
    ref = [r[0] for r in results["fp32"]]
    fast = statistics.mean(r[0] for r in results["fast (bf16 + channels_last)"])
    slack = 0.1 * statistics.mean(ref)
    lo, hi = min(ref) - slack, max(ref) + slack
    ok = lo <= fast <= hi or fast < lo  # better than fp32 also passes
    print(f"fp32 spread (+-10% slack): {lo:.1f} .. {hi:.1f}; fast path mean {fast:.1f} -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
