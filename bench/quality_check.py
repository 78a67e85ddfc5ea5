"""Does the fast path keep quality? Train the same config in plain fp32 (NCHW) and on the fast
path for equal steps from 3 seeds each, and compare a quality score (lower is better).

    python bench/quality_check.py [--model dcgan|cyclegan|stylegan] [--steps N] [--seeds 0 1 2]
                                  [--fast auto|bf16|channels_last] [--device auto] [--shots DIR]

DCGAN (32 px discs, 600 steps) and the style-based kind (its CPU defaults, batch 16, 32 px discs,
400 steps): sliced Wasserstein distance (SWD, x1e3) of EMA-generator samples to held-out data.
CycleGAN (red <-> blue shapes, 32 px, 150 steps): how far the translated shapes' colour stays from
the target domain's, relative to the gap between domains, averaged over both directions; shapes
must also stay in place (IoU with the input's, reported).

The fast path is what `precision="auto"` resolves to on the device without a measurement (bf16
autocast where the CPU or GPU computes bf16 natively and the kind allows it, fp32 elsewhere;
channels_last where it measured faster for the model); `--fast bf16` forces bf16 autocast,
`--fast channels_last` fp32 in the channels_last layout. Verdict: the fast path passes when its
mean score lies within the fp32 seeds' spread (min..max) or below it.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.engine.data.procedural import discs  # noqa: E402
from studio.engine.images import save_png  # noqa: E402
from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer  # noqa: E402
from studio.engine.train.metrics import swd  # noqa: E402


def train_and_score(trainer_cls, cfg, data: torch.Tensor, held_out, steps: int, seed: int, shots: Path | None,
                    device: torch.device, name: str):
    """A latent kind (DCGAN or the style-based kind): `trainer_cls` trained on `data`, scored by SWD."""
    t = trainer_cls(cfg, data, seed=seed, device=device)
    t0 = time.perf_counter()
    for _ in range(steps):
        t.step()
    elapsed = time.perf_counter() - t0
    z = torch.randn(len(held_out), cfg.z_dim, generator=torch.Generator().manual_seed(1000 + seed))
    score = swd(t.generate(z), held_out, seed=seed)
    if shots is not None:
        save_png(shots / f"{name}-seed{seed}.png", t.samples())
    return score, elapsed


def train_and_score_cyclegan(cfg, data, held_out, steps: int, seed: int, shots: Path | None, device: torch.device,
                             name: str):
    from studio.engine.data.procedural import shape_translation_scores
    from studio.engine.images import to_uint8
    from studio.engine.models.cyclegan.trainer import CycleGANTrainer

    (train_a, train_b), (test_a, test_b) = data, held_out
    t = CycleGANTrainer(cfg, train_a, train_b, seed=seed, total_steps=steps, device=device)
    t0 = time.perf_counter()
    for _ in range(steps):
        t.step()
    elapsed = time.perf_counter() - t0

    def translated(pictures, direction):
        x = torch.from_numpy(pictures).permute(0, 3, 1, 2).contiguous()
        return to_uint8(t.translate(x, direction))

    a2b = translated(test_a, "a2b")
    s = shape_translation_scores(test_a, test_b, a2b, translated(test_b, "b2a"))
    if shots is not None:  # 8 inputs above their translations
        save_png(shots / f"{name}-seed{seed}.png", np.concatenate([test_a[:8], a2b[:8]], 1)
                 .transpose(1, 0, 2, 3).reshape(2 * test_a.shape[1], -1, 3))
    print(f"    seed {seed}: colour a2b {s['a2b_colour']:.3f} b2a {s['b2a_colour']:.3f}, "
          f"shapes in place IoU {s['a2b_iou']:.2f} / {s['b2a_iou']:.2f}", flush=True)
    return (s["a2b_colour"] + s["b2a_colour"]) / 2, elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("dcgan", "cyclegan", "stylegan"), default="dcgan")
    ap.add_argument("--steps", type=int, default=None, help="training steps (600 DCGAN, 150 CycleGAN)")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--width", type=int, default=None, help="network width (32 DCGAN, 8 CycleGAN)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--shots", type=Path, default=None, help="folder for the final sample grids")
    ap.add_argument("--fast", choices=("auto", "bf16", "channels_last"), default="auto")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    from studio.engine.device import describe_device, pick_device

    device = pick_device(args.device)
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    from studio.engine.models import get_kind

    translates = get_kind(args.model).capabilities.translates  # CycleGAN: translation scored by colour
    if args.model == "stylegan":
        from studio.engine.data.dataset import DataConfig
        from studio.engine.models.stylegan.trainer import StyleGANConfig, StyleGANTrainer

        # the kind's CPU defaults (small preset, R1 weight and EMA half-life for the size and batch)
        args.steps = args.steps or 400
        data = torch.from_numpy(discs(2000, args.size, seed=0)).permute(0, 3, 1, 2).contiguous()
        held_out = discs(512, args.size, seed=1)
        defaults = get_kind("stylegan").default_config(DataConfig(size=args.size), {}, {"batch": 16})
        base = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(defaults)
                if f.name not in ("precision", "channels_last")}
        config, trainer_cls, score_name = StyleGANConfig, StyleGANTrainer, "SWD"
        run = partial(train_and_score, trainer_cls)
    elif not translates:
        args.steps, args.width = args.steps or 600, args.width or 32
        data = torch.from_numpy(discs(2000, args.size, seed=0)).permute(0, 3, 1, 2).contiguous()
        held_out = discs(512, args.size, seed=1)
        base = dict(size=args.size, batch=64, ngf=args.width, ndf=args.width)
        config, trainer_cls, score_name = DCGANConfig, DCGANTrainer, "SWD"
        run = partial(train_and_score, trainer_cls)
    else:
        from studio.engine.data.procedural import SHAPES_BLUE, SHAPES_RED, coloured_shapes
        from studio.engine.models.cyclegan.trainer import CycleGANConfig, CycleGANTrainer

        args.steps, args.width = args.steps or 150, args.width or 8
        base = dict(size=args.size, ngf=args.width, ndf=args.width, n_blocks=2, batch=4)
        load = CycleGANConfig(**base).load_size
        red, blue = SHAPES_RED, SHAPES_BLUE
        data = tuple(torch.from_numpy(coloured_shapes(n, load, seed=s, colour=c)).permute(0, 3, 1, 2).contiguous()
                     for n, s, c in ((64, 1, red), (48, 2, blue)))
        held_out = tuple(coloured_shapes(16, args.size, seed=s, colour=c) for s, c in ((101, red), (102, blue)))
        config, trainer_cls, score_name, run = CycleGANConfig, CycleGANTrainer, "colour", train_and_score_cyclegan
    fast_cfg = {"bf16": config(**base, precision="bf16"), "channels_last": config(**base, precision="fp32",
                channels_last=True), "auto": config(**base, precision="auto")}[args.fast]
    probe_data = (data[0][:2], data[1][:2]) if translates else (data[:2],)
    probe = trainer_cls(fast_cfg, *probe_data, device=device)  # what the trainer resolves "auto" to here
    fast_name = f"fast ({probe.precision}{' + channels_last' if probe.memory_format == torch.channels_last else ''})"
    del probe
    print(f"device: {describe_device(device)}  torch {torch.__version__}  {args.model}, {args.steps} steps, "
          f"{args.size} px, width {args.width}, seeds {args.seeds}")
    paths = {"fp32": config(**base, precision="fp32", channels_last=False), fast_name: fast_cfg}
    results = {}
    for name, cfg in paths.items():
        tag = "fp32" if name == "fp32" else "fast"
        print(f"{name}:", flush=True)
        results[name] = [run(cfg, data, held_out, args.steps, s, args.shots, device, tag) for s in args.seeds]
        scores = [r[0] for r in results[name]]
        secs = sum(r[1] for r in results[name])
        print(f"{name:28s} {score_name} per seed: {', '.join(f'{x:6.3g}' for x in scores)}   "
              f"mean {statistics.mean(scores):6.3g}   train time {secs:6.1f} s", flush=True)
    ref = [r[0] for r in results["fp32"]]
    fast = statistics.mean(r[0] for r in results[fast_name])
    lo, hi = min(ref), max(ref)
    if len(ref) < 2:  # one seed has no spread: any difference would read as a FAIL (gpu_check's QUICK mode)
        print(f"fp32 {hi:.3g}; fast path {fast:.3g} -> no verdict (one seed gives no spread; run 3 or more)")
        return 0
    ok = fast <= hi  # within the spread, or better than every fp32 seed
    print(f"fp32 spread: {lo:.3g} .. {hi:.3g}; fast path mean {fast:.3g} -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
