"""Does a conditional DCGAN draw the class it is asked for, with variety inside each class?

    OMP_NUM_THREADS=1 python bench/conditional_control.py [--kind dcgan|stylegan] [--steps 1000] [--every 100]
                                                          [--conditional-only] [--seed 0]

Three procedural shape classes (round discs, lying bars, standing bars; colour, size and place
random: tests/engine/shape_classes.py), 300 images each, 32 px; DCGAN width 16, batch 32, lr 5e-4; the style-based kind
at its small (CPU) preset, batch 16, with the auto R1 weight; DiffAugment as the studio turns it on
for small sets. A small CNN trained on other pictures of the
same classes judges 180 samples (60 asked for per class): the share recognised as the asked class
(chance 1/3), the samples' spread within a class relative to the class's images (near 0: one
picture per class), and SWD (x1e3). Each line also gives the share per class (disc/lying/standing:
a swing is usually one class lost for a while) and the critic's class separation on other real
images: its logit under the right class minus the mean under the wrong ones. The unconditional
model on the same data is the sanity check: asked or not, it draws what it likes (about 1/3 "right").
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root))
sys.path.insert(0, str(root / "tests" / "engine"))

from shape_classes import SHAPES, class_probabilities, labelled_set, train_shape_classifier  # noqa: E402

from studio.engine.models.dcgan.trainer import DCGANConfig, DCGANTrainer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--kind", choices=("dcgan", "stylegan"), default="dcgan")
    ap.add_argument("--conditional-only", action="store_true", help="skip the unconditional sanity check")
    ap.add_argument("--seed", type=int, default=0, help="the trainer's seed (the data and the judge stay the same)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    clf = train_shape_classifier()
    images, labels = labelled_set(300, seed=3)
    real = images.permute(0, 2, 3, 1).numpy().astype(np.float32)
    spread = [real[labels.numpy() == k].std(0).mean() for k in range(len(SHAPES))]
    asked = torch.arange(len(SHAPES)).repeat(60)
    held, held_labels = labelled_set(40, seed=77)
    held = held.float() / 127.5 - 1
    for conditional in (True,) if args.conditional_only else (True, False):
        classes = SHAPES if conditional else ()
        if args.kind == "dcgan":
            cfg = DCGANConfig(size=32, z_dim=32, ngf=16, ndf=16, batch=32, preview_count=9, precision="fp32",
                              ema_decay=0.99, lr=5e-4, diffaugment=True, class_names=classes)
            t = DCGANTrainer(cfg, images, labels=labels if conditional else None, seed=args.seed)
        else:
            from studio.engine.models.stylegan.trainer import PRESETS, StyleGANConfig, StyleGANTrainer, auto_r1_gamma

            cfg = StyleGANConfig(**PRESETS["small"], size=32, batch=16, preview_count=9, diffaugment=True,
                                 r1_gamma=auto_r1_gamma(32, 16), ema_kimg=16 * 10 / 32, class_names=classes)
            t = StyleGANTrainer(cfg, images, labels=labels if conditional else None, seed=args.seed)
        z = torch.randn(180, cfg.z_dim, generator=torch.Generator().manual_seed(7))
        t0 = time.perf_counter()
        for i in range(args.steps):
            t.step()
            if (i + 1) % args.every and i + 1 != args.steps:
                continue
            pics = t.generate(z, asked if conditional else None)
            hit = class_probabilities(clf, pics).argmax(1) == asked.numpy()
            right = hit.mean()
            per_class = "/".join(f"{hit[asked.numpy() == k].mean():.0%}" for k in range(len(SHAPES)))
            separation = ""
            if conditional:
                with torch.no_grad():
                    t.D.eval()  # the DCGAN critic's BatchNorm: running statistics, not this batch's
                    logits = torch.stack([t.D(held, torch.full((len(held),), k)) for k in range(len(SHAPES))], 1)
                    t.D.train()
                on_right = logits.gather(1, held_labels[:, None]).squeeze(1)
                on_wrong = (logits.sum(1) - on_right) / (len(SHAPES) - 1)
                separation = f", D class separation {float((on_right - on_wrong).mean()):+.2f}"
            within = np.mean([pics[asked.numpy() == k].astype(np.float32).std(0).mean() / spread[k]
                              for k in range(len(SHAPES))])
            print(f"{'conditional  ' if conditional else 'unconditional'} step {i + 1:5d}: asked class "
                  f"{right:.1%} ({per_class}), spread within a class {within:.2f}x its images', "
                  f"SWD {t.quality(128)['swd']:.0f}"
                  f"{separation} ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
