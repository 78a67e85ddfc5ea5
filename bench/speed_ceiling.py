"""The ceiling of bench/train_speed.py's DCGAN ratio on this machine: how fast any path could run
GAN Studio's training step, against the canonical loop's step measured here.

    python bench/speed_ceiling.py [--repeats 5]

A DCGAN step is almost all convolutions, and no path runs a convolution faster than the CPU's
arithmetic allows. This script
  1. counts the floating-point operations of one training step of each side with torch's
     FlopCounterMode (convolutions and matrix products, forward and backward): GAN Studio's trainer
     (its defaults, 64 px, batch 64) and the pytorch/examples loop of bench/train_speed.py;
  2. measures the best rate this CPU reaches: every convolution layer of the project's G and D at
     its training shape, forward alone and forward + backward, in fp32 and in bf16 (where the CPU
     computes it natively), NCHW and channels_last, and a 2048 x 2048 matrix product (the kind of
     work a CPU runs nearest its peak); the fastest of all sets the rate;
  3. times the canonical loop's step (its DataLoader included, as train_speed times it).

ceiling = canonical seconds a step / (GAN Studio's operations / that best rate): the ratio a path
would reach if every operation of the step ran as fast as the CPU's most efficient kernel, and
nothing else (normalisation, activations, Adam, the EMA) took any time. It is an upper bound:
a ratio above it needs less arithmetic, not a faster path. On a CPU whose bf16 convolutions run
many times faster than fp32 (AMX) the ceiling is far above the measured ratio; where bf16 gains
little over fp32 it says how far a faster path can go.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import timed  # noqa: E402
from train_speed import CanonicalDCGAN, source_folder  # noqa: E402

BATCH, SIZE = 64, 64


def step_flops(step) -> int:
    """Floating-point operations of one call of `step` (FlopCounterMode's count)."""
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops()


def studio_trainer():
    """GAN Studio's DCGAN trainer with the defaults train_speed benches (fp32: the arithmetic a step
    does is the same on every path)."""
    from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer
    from studio.engine.train.fast_path import Choice, FastPath, building_with

    images = torch.randint(0, 256, (4 * BATCH, 3, SIZE, SIZE), dtype=torch.uint8)
    with building_with(Choice(FastPath("fp32"), "yours")):
        return DCGANTrainer(DCGANConfig(size=SIZE, batch=BATCH), images)


def conv_layers(trainer) -> list[tuple[nn.Module, torch.Tensor]]:
    """Each convolution of the trainer's G and D with an input of the shape it trains on."""
    found: list[tuple[nn.Module, torch.Tensor]] = []
    hooks = [m.register_forward_hook(lambda m, inp, out: found.append((m, inp[0].detach().clone())))
             for net in (trainer.G, trainer.D) for m in net.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    with torch.no_grad():
        fake = trainer.G(torch.randn(BATCH, trainer.cfg.z_dim))
        trainer.D(fake)
    for h in hooks:
        h.remove()
    return found


def best_rate(layers, dtype: torch.dtype, repeats: int) -> tuple[float, str]:
    """The highest rate (FLOP/s) in `dtype` of any layer's forward or forward + backward, either
    layout, or of a large square matrix product; and what reached it."""
    a = torch.randn(2048, 2048).to(dtype)
    best, where = _rate(lambda: a @ a, repeats), "2048 x 2048 matrix product"
    for module, x in layers:
        for channels_last in (False, True):
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            m = _copy(module, dtype, fmt)
            inp = x.to(dtype).contiguous(memory_format=fmt).requires_grad_(True)

            def forward(m=m, inp=inp):
                return m(inp.detach())

            def both(m=m, inp=inp):
                out = m(inp)
                out.backward(torch.ones_like(out))

            for what, run in (("forward", forward), ("forward + backward", both)):
                rate = _rate(run, repeats)
                if rate > best:
                    layout = "channels_last" if channels_last else "NCHW"
                    best, where = rate, (f"{type(module).__name__} {tuple(x.shape)} -> {m.out_channels} ch, "
                                         f"{layout}, {what}")
    return best, where


def _rate(run, repeats: int) -> float:
    return step_flops(run) / min(timed(run, repeats, warmup=2))


def _copy(module: nn.Module, dtype: torch.dtype, fmt) -> nn.Module:
    import copy

    m = copy.deepcopy(module).to(dtype)
    for p in m.parameters():
        p.data = p.data.contiguous(memory_format=fmt)
    return m


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per layer and form (the fastest counts)")
    ap.add_argument("--steps", type=int, default=8, help="timed canonical steps (after 2 untimed)")
    args = ap.parse_args()
    from studio.engine.device import cpu_has_native_bf16
    from studio.engine.train.fast_path import cpu_model

    print(f"CPU: {cpu_model()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    trainer = studio_trainer()
    trainer.step()  # the first step allocates the optimizers' state
    ours = step_flops(trainer.step)
    with tempfile.TemporaryDirectory() as tmp:
        data = source_folder(Path(tmp) / "images", "tiny", count=4 * BATCH)
        canonical = CanonicalDCGAN(data, torch.device("cpu"), Path(tmp))
        theirs = step_flops(canonical.step)
        canonical_s = statistics.median(timed(canonical.step, args.steps, warmup=2))
    print(f"operations a step (64 px, batch {BATCH}): GAN Studio {ours / 1e9:.1f} GFLOP, "
          f"canonical {theirs / 1e9:.1f} GFLOP")
    layers = conv_layers(trainer)
    rates = {"fp32": best_rate(layers, torch.float32, args.repeats)}
    if cpu_has_native_bf16():
        rates["bf16"] = best_rate(layers, torch.bfloat16, args.repeats)
    for name, (rate, where) in rates.items():
        print(f"best rate, {name}: {rate / 1e9:.0f} GFLOP/s ({where})")
    print(f"canonical step: {canonical_s * 1e3:.0f} ms ({theirs / canonical_s / 1e9:.0f} GFLOP/s, "
          f"{BATCH / canonical_s:.1f} images/s)")
    peak = max(rate for rate, _ in rates.values())
    floor_s = ours / peak
    print(f"GAN Studio's step at that rate, nothing else counted: {floor_s * 1e3:.0f} ms "
          f"({BATCH / floor_s:.1f} images/s)")
    print(f"ceiling of the ratio on this CPU: {canonical_s / floor_s:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
