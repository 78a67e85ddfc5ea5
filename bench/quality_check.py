"""Does the fast path keep quality? Train the same DCGAN config in plain fp32 (NCHW) and on the
fast path for equal steps from 3 seeds each, and compare the sliced Wasserstein distance (SWD,
x1e3, lower is better) of EMA-generator samples to held-out data.

    python bench/quality_check.py [--steps 600] [--size 32] [--seeds 0 1 2] [--fast auto|bf16]
                                  [--device auto] [--shots DIR]

The fast path is what `precision="auto"` resolves to on the device (fp32 + channels_last on a
CPU, bf16 autocast + channels_last on a GPU); `--fast bf16` forces bf16 autocast + channels_last.
Verdict: the fast path passes when its mean SWD lies within the fp32 seeds' spread (min..max) or
below it.
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


def train_and_score(cfg: DCGANConfig, data: torch.Tensor, held_out, steps: int, seed: int, shots: Path | None,
                    device: torch.device, name: str):
    t = DCGANTrainer(cfg, data, seed=seed, device=device)
    t0 = time.perf_counter()
    for _ in range(steps):
        t.step()
    elapsed = time.perf_counter() - t0
    z = torch.randn(len(held_out), cfg.z_dim, generator=torch.Generator().manual_seed(1000 + seed))
    score = swd(t.generate(z), held_out, seed=seed)
    if shots is not None:
        save_png(shots / f"{name}-seed{seed}.png", t.samples())
    return score, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--shots", type=Path, default=None, help="folder for the final sample grids")
    ap.add_argument("--fast", choices=("auto", "bf16"), default="auto")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    from studio.engine.device import describe_device, pick_device

    device = pick_device(args.device)
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    data = torch.from_numpy(discs(2000, args.size, seed=0)).permute(0, 3, 1, 2).contiguous()
    held_out = discs(512, args.size, seed=1)
    base = dict(size=args.size, batch=64, ngf=args.width, ndf=args.width)
    fast_cfg = DCGANConfig(**base, precision="bf16", channels_last=True) if args.fast == "bf16" else DCGANConfig(**base)
    probe = DCGANTrainer(fast_cfg, data[:2], device=device)  # what the trainer resolves "auto" to here
    fast_name = f"fast ({probe.precision}{' + channels_last' if probe.memory_format == torch.channels_last else ''})"
    del probe
    print(f"device: {describe_device(device)}  torch {torch.__version__}  {args.steps} steps, {args.size} px, "
          f"width {args.width}, seeds {args.seeds}")
    paths = {"fp32": DCGANConfig(**base, precision="fp32", channels_last=False), fast_name: fast_cfg}
    results = {}
    for name, cfg in paths.items():
        tag = "fp32" if name == "fp32" else "fast"
        results[name] = [train_and_score(cfg, data, held_out, args.steps, s, args.shots, device, tag)
                         for s in args.seeds]
        scores = [r[0] for r in results[name]]
        secs = sum(r[1] for r in results[name])
        print(f"{name:28s} SWD per seed: {', '.join(f'{x:6.1f}' for x in scores)}   "
              f"mean {statistics.mean(scores):6.1f}   train time {secs:6.1f} s")
    ref = [r[0] for r in results["fp32"]]
    fast = statistics.mean(r[0] for r in results[fast_name])
    lo, hi = min(ref), max(ref)
    ok = fast <= hi  # within the spread, or better than every fp32 seed
    print(f"fp32 spread: {lo:.1f} .. {hi:.1f}; fast path mean {fast:.1f} -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
