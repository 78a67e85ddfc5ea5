"""Which lever could lift the CycleGAN's CPU step? Short interleaved timings of the trainer's step.

    python bench/cyclegan_levers.py [--size 256] [--rounds 4] [--threads N]

Variants, each a CycleGANTrainer on the same random images, stepped in turn (round robin) so a
noisy neighbour slows all alike; medians of `--rounds` steps after one warm-up step each:

  plain fp32          today's default on a CPU (NCHW, fp32)
  channels_last       NHWC layout (1.5x slower at 256 px on the 2026-11 EPYC)
  batched             G and F each run once on [real, other domain's real] (translation and
                      identity in one batch of 2 instead of two batches of 1), each D once on
                      [real, pooled fake]: 4 generator calls instead of 6, 2 critic calls instead
                      of 4. InstanceNorm normalises each image alone, so the numbers are the same
                      (the script checks the first step's losses against the plain step's).
  batched + channels_last
  bf16                autocast, only where the CPU computes bf16 natively (its quality failed
                      bench/quality_check.py; shown for the speed it leaves on the table)

Prints each variant's median step and its speed relative to plain fp32.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.engine.device import cpu_has_native_bf16  # noqa: E402
from studio.engine.models.cyclegan.trainer import CycleGANConfig, CycleGANTrainer  # noqa: E402


class BatchedCycleGAN(CycleGANTrainer):
    """The trainer's step with fewer, larger network calls (see the module docstring)."""

    def step(self) -> dict[str, float]:
        cfg = self.cfg
        lr = self._set_lr()
        real_a, real_b = self._real_batch("A"), self._real_batch("B")
        n, lam, idt = len(real_a), cfg.lambda_cycle, cfg.lambda_cycle * cfg.lambda_identity
        for d in (self.D_A, self.D_B):
            d.requires_grad_(False)
        with self._autocast():
            fake_b, idt_b = self._G(torch.cat([real_a, real_b])).split(n)
            fake_a, idt_a = self._F(torch.cat([real_b, real_a])).split(n)
            rec_a, rec_b = self._F(fake_b), self._G(fake_a)
            score_b, score_a = self.D_B(fake_b), self.D_A(fake_a)
            losses = {
                "G": F.mse_loss(score_b, torch.ones_like(score_b)),
                "F": F.mse_loss(score_a, torch.ones_like(score_a)),
                "cycle_A": F.l1_loss(rec_a, real_a) * lam,
                "cycle_B": F.l1_loss(rec_b, real_b) * lam,
                "idt_A": F.l1_loss(idt_a, real_a) * idt,
                "idt_B": F.l1_loss(idt_b, real_b) * idt,
            }
        self.opt_G.zero_grad(set_to_none=True)
        sum(losses.values()).backward()
        self.opt_G.step()
        for d in (self.D_A, self.D_B):
            d.requires_grad_(True)
        pooled = {d: self.pools[d].query(f.detach().float(), self.rng).contiguous(memory_format=self.memory_format)
                  for d, f in (("B", fake_b), ("A", fake_a))}
        with self._autocast():
            for name, net, real, fake in (("D_B", self._D_B, real_b, pooled["B"]), ("D_A", self._D_A, real_a,
                                                                                   pooled["A"])):
                s_real, s_fake = net(torch.cat([real, fake])).split(n)
                losses[name] = 0.5 * (F.mse_loss(s_real, torch.ones_like(s_real))
                                      + F.mse_loss(s_fake, torch.zeros_like(s_fake)))
        self.opt_D.zero_grad(set_to_none=True)
        (losses["D_A"] + losses["D_B"]).backward()
        self.opt_D.step()
        self.global_step += 1
        self.lr = lr
        return {k: float(v.detach()) for k, v in losses.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = CycleGANConfig(size=args.size, precision="fp32")
    load = base.load_size

    def images(seed):
        rng = torch.Generator().manual_seed(seed)
        return torch.randint(0, 256, (8, 3, load, load), dtype=torch.uint8, generator=rng)

    def make(cls, **changes):
        import dataclasses

        return cls(dataclasses.replace(base, **changes), images(1), images(2), seed=0)

    variants = {
        "plain fp32": make(CycleGANTrainer),
        "channels_last": make(CycleGANTrainer, channels_last=True),
        "batched": make(BatchedCycleGAN),
        "batched + channels_last": make(BatchedCycleGAN, channels_last=True),
    }
    if cpu_has_native_bf16():
        variants["bf16"] = make(CycleGANTrainer, precision="bf16")
    print(f"CycleGAN {args.size} px, batch 1, {torch.get_num_threads()} threads, torch {torch.__version__}")
    first = {name: t.step() for name, t in variants.items()}  # warm-up; same seed: same first step
    ref = first["plain fp32"]
    for name in ("batched", "batched + channels_last"):
        worst = max(abs(first[name][k] - ref[k]) / max(1.0, abs(ref[k])) for k in ref)
        print(f"  {name}: first step's losses within {worst:.1e} (relative) of the plain step's")
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, t in variants.items():
            t0 = time.perf_counter()
            t.step()
            times[name].append(time.perf_counter() - t0)
    plain = statistics.median(times["plain fp32"])
    for name, seconds in times.items():
        med = statistics.median(seconds)
        print(f"  {name:24s} median {med * 1000:7.0f} ms a step   {plain / med:5.2f}x plain   "
              f"[{', '.join(f'{s * 1000:.0f}' for s in seconds)}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
