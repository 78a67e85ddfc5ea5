"""Does the style-based kind still learn with self-attention (`--attention`) on its own recipe, and
what does the block cost a step?

    OMP_NUM_THREADS=1 python bench/style_attention.py [--steps 160] [--seeds 0 1] [--timing-steps 4]

Learning: the unit test's setting (tests/engine/test_stylegan.py: 32 px discs, batch 8, widths
32, logistic loss + R1, lr 0.002) trained with and without attention from the same seed; SWD
of 256 EMA samples to 256 held-out discs before and after (as the test prints it), and the blocks' gammas at the end.
Timing: the CPU default (64 px, "small" capacity, batch 16, the block on the 32x32 map), seconds per
training step over `--timing-steps` steps after one warm-up, the two arms alternating.
This is not the long-range question (bench/attention_long_range.py asks it of the DCGAN).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.engine.data.procedural import discs  # noqa: E402
from studio.engine.models.attention import SelfAttention  # noqa: E402
from studio.engine.models.stylegan.trainer import PRESETS, StyleGANConfig, StyleGANTrainer  # noqa: E402
from studio.engine.train.metrics import swd  # noqa: E402


def _tensor(pictures: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).contiguous()


def _gammas(t: StyleGANTrainer) -> str:
    return " ".join(f"{n} {float(m.gamma.detach()):+.4f}" for n, net in (("G", t.G), ("D", t.D))
                    for m in net.modules() if isinstance(m, SelfAttention))


def learning(steps: int, seeds: list[int]) -> None:
    train, held_out = discs(256, 32, seed=0), discs(256, 32, seed=1)
    for seed in seeds:
        for attention in (False, True):
            cfg = StyleGANConfig(size=32, batch=8, preview_count=4, lr=0.002, r1_gamma=0.01, ema_kimg=0.5, z_dim=32,
                                 w_dim=32, mapping_layers=2, channel_base=256, channel_max=32, attention=attention)
            t = StyleGANTrainer(cfg, _tensor(train), seed=seed)
            z = torch.randn(256, cfg.z_dim, generator=torch.Generator().manual_seed(7))
            before = swd(t.generate(z), held_out)
            start = time.perf_counter()
            for _ in range(steps):
                losses = t.step()
            took = (time.perf_counter() - start) / steps
            after = swd(t.generate(z), held_out)
            finite = all(np.isfinite(v) for v in losses.values())
            print(f"seed {seed} attention {'on ' if attention else 'off'}: SWD {before:.0f} -> {after:.0f} "
                  f"({after / before:.2f}x), {took:.3f} s/step, losses finite {finite} {_gammas(t)}", flush=True)


def timing(steps: int) -> None:
    images = torch.randint(0, 256, (64, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    trainers = {a: StyleGANTrainer(StyleGANConfig(size=64, batch=16, preview_count=4, attention=a, **PRESETS["small"]),
                                   images, seed=0) for a in (False, True)}
    for t in trainers.values():
        t.step()  # warm-up (and step 0's R1)
    spent = {a: 0.0 for a in trainers}
    for _ in range(steps):
        for a, t in trainers.items():
            start = time.perf_counter()
            t.step()
            spent[a] += time.perf_counter() - start
    off, on = spent[False] / steps, spent[True] / steps
    print(f"64 px, small, batch 16: {off:.2f} s/step without attention, {on:.2f} s/step with ({on / off:.2f}x)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=160)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--timing-steps", type=int, default=4)
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    if args.timing_steps:
        timing(args.timing_steps)
    if args.steps:
        learning(args.steps, args.seeds)


if __name__ == "__main__":
    main()
