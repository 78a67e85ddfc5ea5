"""Inference latency of the studio's two everyday operations, through the code the studio runs.

    python bench/inference_speed.py [--repeats 100] [--batch 64] [--translations 7] [--device auto]
                                    [--threads N] [--quick]

  every kind with a latent space, at its config defaults (DCGAN 64 px, the 2014 GAN 32 px, ...):
    single image          one latent -> one picture, through `Renderer` with each backend: torch
                          (the bare generator, on the device) and onnxruntime (CPU); the studio's
                          own pick is onnxruntime on a CPU, torch on a GPU (what the pad uses).
                          Goal for the DCGAN: p95 <= 16 ms on a CPU.
    batch                 `--batch` latents -> pictures, each backend, per batch and per image.
  every translating kind, 256x256
                          one 256x256 picture -> translated picture with the kind's default widths
                          (CycleGAN: ResNet-9 generator; pix2pix: 8-level U-Net), through
                          `Translator.translate_array` (uint8 in, uint8 out).
                          Goal: <= 1.5 s on a CPU, <= 20 ms on a GPU.

Random weights: the arithmetic does not depend on training. Threads default to what the studio
uses for rendering (`renderer.default_threads()`) for the latent kinds and all cores for translation.
`--quick` runs every row a few times: it checks the script, not the speed.
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


def latent_kind(name: str, device: torch.device, repeats: int, batch: int, threads: int) -> dict[str, float]:
    """Single-image and batch latency of one latent kind's generator, per backend; p95 ms by row."""
    from studio.engine.explore.generator import GeneratorModel
    from studio.engine.explore.renderer import Renderer
    from studio.engine.models import get_kind

    kind = get_kind(name)
    cfg = kind.config_cls()  # the kind's default size and widths
    torch.manual_seed(0)
    G = kind.make_generator(cfg)
    model = GeneratorModel(cfg, {k: v.clone() for k, v in G.state_dict().items()}, device, kind=kind)
    z = np.random.default_rng(0).standard_normal((repeats + 3, model.z_dim)).astype(np.float32)
    zb = np.random.default_rng(1).standard_normal((batch, model.z_dim)).astype(np.float32)
    it = iter(range(10**9))
    torch.set_num_threads(threads)
    title = f"{kind.title} {cfg.size} px"
    studio_backend = Renderer(model, threads=threads).backend  # what the pad renders with here
    p95s = {}
    for backend in ("torch", "onnxruntime"):
        try:
            renderer = Renderer(model, backend=backend, threads=threads)
        except Exception as e:  # noqa: BLE001 - no onnxruntime, or an exporter that fails: say so, go on
            print(f"{title}, {backend}: not available ({e.__class__.__name__}: {e})")
            continue
        mark = " (the studio's)" if backend == studio_backend else ""
        single = timed(lambda r=renderer: r.generate(z[next(it) % len(z)]), repeats)
        p95 = p95s[f"{name} single {backend}"] = float(np.percentile(single, 95) * 1000)
        goal = ""
        if name == "dcgan" and backend == studio_backend and device.type == "cpu":
            goal = f"   goal p95 <= 16 ms on a CPU: {'met' if p95 <= 16 else 'NOT met'}"
        print(f"{title}, single image, {backend:11s}{mark:15s} {percentiles(single)}{goal}")
        many = timed(lambda r=renderer: r.generate(zb), max(3, repeats // 10), warmup=1)
        p95s[f"{name} batch {backend}"] = float(np.percentile(many, 95) * 1000)
        per_image = float(np.median(many)) / batch * 1000
        print(f"{title}, batch of {batch}, {backend:11s}{mark:15s} {percentiles(many)}   "
              f"{per_image:.2f} ms an image")
    return p95s


def translation_256(name: str, device: torch.device, repeats: int, threads: int) -> float:
    """One 256x256 picture through a translating kind's generator at its default widths (CycleGAN's
    ResNet-9, pix2pix's 8-level U-Net), built as the kind builds it, via `Translator`."""
    from studio.engine.data.procedural import discs
    from studio.engine.explore.translate import Translator
    from studio.engine.models import get_kind

    kind = get_kind(name)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    t = kind.translation(kind.config_cls(size=256))
    translator = Translator(t.net, device=device, multiple=t.multiple, channels=t.channels,
                            bytes_per_pixel=t.bytes_per_pixel, upscale=t.upscale)
    pictures = discs(repeats + 1, 256, seed=0)
    it = iter(range(10**9))
    out = translator.translate_array(pictures[0])
    assert out.shape == (256, 256, 3) and out.dtype == np.uint8
    times = timed(lambda: translator.translate_array(pictures[next(it) % len(pictures)]), repeats, warmup=1)
    p95 = float(np.percentile(times, 95) * 1000)
    goal = 1500 if device.type == "cpu" else 20
    print(f"{kind.title} 256x256 translate (Translator, torch):   {percentiles(times)}"
          f"   goal <= {goal} ms: {'met' if p95 <= goal else 'NOT met'}")
    return p95


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=100, help="single-image repeats per latent kind and backend")
    ap.add_argument("--batch", type=int, default=64, help="latents per batch in the batch rows")
    ap.add_argument("--translations", type=int, default=7, help="translations timed per translating kind")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None, help="render threads (default: the studio's)")
    ap.add_argument("--quick", action="store_true", help="a few repeats of every row: checks the script only")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.translations = 5, 1

    from studio.engine.device import describe_device, pick_device
    from studio.engine.explore.renderer import default_threads

    device = pick_device(args.device)
    cores = torch.get_num_threads()
    print(f"device: {describe_device(device)}  torch {torch.__version__}")
    from studio.engine.models import KINDS

    for name, kind in KINDS.items():
        if kind.capabilities.latent_space:
            latent_kind(name, device, args.repeats, args.batch, args.threads or default_threads())
    for name, kind in KINDS.items():
        if kind.capabilities.translates:
            translation_256(name, device, args.translations, cores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
