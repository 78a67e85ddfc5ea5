"""Inference latency of the studio's two everyday operations, through the code the studio runs.

    python bench/inference_speed.py [--repeats 100] [--translations 7] [--device auto] [--threads N]

  DCGAN-64 single image   one latent -> one 64 px picture with the default widths (z 100, ngf 64),
                          through `Renderer` (onnxruntime on a CPU, torch on a GPU: what the pad
                          uses) and through the bare torch generator for comparison.
                          Goal: p95 <= 16 ms on a CPU.
  CycleGAN 256x256        one 256x256 picture -> translated picture with the default widths (ResNet-9
                          generator), through `Translator.translate_array` (uint8 in, uint8 out).
                          Goal: <= 1.5 s on a CPU, <= 20 ms on a GPU.

Random weights: the arithmetic does not depend on training. Threads default to what the studio
uses for rendering (`renderer.default_threads()`) for the DCGAN and all cores for translation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from timing import timed  # noqa: E402


def percentiles(seconds: list[float]) -> str:
    ms = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):8.1f} ms   p95 {np.percentile(ms, 95):8.1f} ms   n={len(ms)}"


def dcgan_single(device: torch.device, repeats: int, threads: int) -> float:
    from studio.engine.explore.generator import GeneratorModel
    from studio.engine.explore.renderer import Renderer
    from studio.engine.models import get_kind
    from studio.engine.models.dcgan.nets import Generator, init_weights
    from studio.engine.models.dcgan.trainer import DCGANConfig

    cfg = DCGANConfig(size=64)
    torch.manual_seed(0)
    G = Generator(cfg.size, cfg.z_dim, cfg.ngf, cfg.channels)
    G.apply(init_weights)
    model = GeneratorModel(cfg, {k: v.clone() for k, v in G.state_dict().items()}, device, kind=get_kind("dcgan"))
    z = np.random.default_rng(0).standard_normal((repeats + 3, cfg.z_dim)).astype(np.float32)
    it = iter(range(10**9))

    torch.set_num_threads(threads)
    bare = timed(lambda: model.generate(torch.from_numpy(z[next(it) % len(z)][None])), repeats)
    print(f"DCGAN-64 single image, bare torch generator:      {percentiles(bare)}")
    renderer = Renderer(model, threads=threads)
    studio = timed(lambda: renderer.generate(z[next(it) % len(z)]), repeats)
    p95 = float(np.percentile(studio, 95) * 1000)
    print(f"DCGAN-64 single image, studio renderer ({renderer.backend:11s}): {percentiles(studio)}"
          f"   goal p95 <= 16 ms on a CPU: {'met' if p95 <= 16 or device.type != 'cpu' else 'NOT met'}")
    return p95


def cyclegan_256(device: torch.device, repeats: int, threads: int) -> float:
    from studio.engine.data.procedural import discs
    from studio.engine.models.cyclegan.nets import ResnetGenerator, init_weights
    from studio.engine.models.cyclegan.translate import Translator

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = ResnetGenerator(3, 3, 64, 9)
    net.apply(init_weights)
    translator = Translator(net, device=device)
    pictures = discs(repeats + 1, 256, seed=0)
    it = iter(range(10**9))
    out = translator.translate_array(pictures[0])
    assert out.shape == (256, 256, 3) and out.dtype == np.uint8
    times = timed(lambda: translator.translate_array(pictures[next(it) % len(pictures)]), repeats, warmup=1)
    p95 = float(np.percentile(times, 95) * 1000)
    goal = 1500 if device.type == "cpu" else 20
    print(f"CycleGAN 256x256 translate (Translator, torch):   {percentiles(times)}"
          f"   goal <= {goal} ms: {'met' if p95 <= goal else 'NOT met'}")
    return p95


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=100, help="DCGAN single-image repeats")
    ap.add_argument("--translations", type=int, default=7, help="CycleGAN translations timed")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="DCGAN render threads (default: the studio's)")
    args = ap.parse_args()

    from studio.engine.device import describe_device, pick_device
    from studio.engine.explore.renderer import default_threads

    device = pick_device(args.device)
    cores = torch.get_num_threads()
    print(f"device: {describe_device(device)}  torch {torch.__version__}")
    dcgan_single(device, args.repeats, args.threads or default_threads())
    cyclegan_256(device, args.translations, cores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
