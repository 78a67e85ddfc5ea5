"""Projection quality on held-out procedural faces: the style kind's w+ against the DCGAN's z.

    OMP_NUM_THREADS=1 .venv/bin/python bench/projection_quality.py --style PROJECT [--dcgan PROJECT]
        [--images 16] [--steps 300] [--seed 777]

Draws `--images` faces that no model was trained on (the demos and the bench models train on seed 0,
the attribute classifier on seeds 10,000 and up; this takes `--seed`), projects each into every
model given with the same number of steps, and prints per model: the mean RMS error (0-255
levels) between projection and target, and how often the attribute classifier
(tests/engine/attribute_classifier.py) reads the projection's glasses / long hair / smile as the
target's labels say (and as it reads the target itself). Also the time per projection.
`--d-features W` adds the project's own discriminator activations (after each downsampling block)
to the loss with weight W, to measure whether they help (`--only dcgan|style` measures one model).

A style model for it: `gan-studio demo-data faces DIR --count 3000 --size 32 --seed 0` then
`gan-studio train stylegan --data DIR --out PROJECT --size 32 --minutes M` (M = 25 on a quiet 2-core
CPU, two threads: 8,926 steps, w+ 12.8 levels against the bundled DCGAN's 14.7, docs/explorer.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from attribute_classifier import predict, train_classifier  # noqa: E402

from studio.engine.data.demo_sets import BINARY_ATTRIBUTES, binary_attributes, faces  # noqa: E402
from studio.engine.explore.generator import load_generator  # noqa: E402
from studio.engine.explore.projection import ProjectionSettings, project  # noqa: E402


def attributes(classifier, pictures: np.ndarray) -> np.ndarray:
    probs = predict(classifier, pictures)
    return np.stack([probs[a] > 0.5 for a in BINARY_ATTRIBUTES], 1).astype(np.float32)


def d_feature_loss(project_dir: str, weight: float):
    """The project's own discriminator as a feature extractor: (images, target) -> per-image mean
    squared difference of its activations after each downsampling block, times `weight`. Measured
    here only; the engine ships pixels + pyramid unless these help (see the module docstring)."""
    from torch import nn

    from studio.engine.config import config_from_dict
    from studio.engine.models import get_kind
    from studio.engine.project.checkpoints import checkpoints_to_try, load_checkpoint
    from studio.engine.project.folder import Project
    from studio.engine.train.protocol import load_module

    project_ = Project.open(project_dir, clean=False)
    kind = get_kind(project_.kind)
    tensors, meta = load_checkpoint(checkpoints_to_try(project_, None)[0])
    cfg = config_from_dict(kind.config_cls, meta.get("config") or project_.meta.get("model"))
    if kind.capabilities.style_space:
        from studio.engine.models.stylegan.trainer import build_discriminator

        D = build_discriminator(cfg)  # as trained: classes, attention
        taps = list(D.blocks)
    else:
        from studio.engine.models.dcgan.nets import Discriminator

        D = Discriminator(cfg.size, cfg.ndf, cfg.channels, spectral_norm=cfg.spectral_norm,
                          num_classes=cfg.num_classes, attention=cfg.attention)
        taps = [m for m in D.main if isinstance(m, nn.LeakyReLU)]
    load_module("D", D, tensors)
    D.eval().requires_grad_(False)
    for m in taps:
        if isinstance(m, nn.LeakyReLU):
            m.inplace = False
    grabbed = []
    for m in taps:
        m.register_forward_hook(lambda _m, _i, out: grabbed.append(out))

    def features(x):
        grabbed.clear()
        D(x)
        return list(grabbed)

    def loss(images, target):
        fi, ft = features(images), features(target)
        return weight * sum((a - b).square().flatten(1).mean(1) for a, b in zip(fi, ft))

    return loss


def measure(name: str, project_dir: str, targets: np.ndarray, labels: np.ndarray, classifier, args) -> dict:
    model = load_generator(project_dir, device="cpu")
    shares = {} if args.w_share is None else {"w_share": args.w_share}
    settings = ProjectionSettings(steps=args.steps, space=args.space.get(name, "auto"), seed=args.seed, **shares)
    extra = d_feature_loss(project_dir, args.d_features) if args.d_features else None
    errors, pictures, space = [], [], ""
    t0 = time.perf_counter()
    for target in targets:
        result = project(model, target, settings, feature_loss=extra)
        errors.append(result.error)
        pictures.append(result.picture)
        space = result.space
    seconds = (time.perf_counter() - t0) / len(targets)
    pictures = np.stack(pictures)
    read = attributes(classifier, pictures)
    return {"model": name, "space": space, "step": model.step, "error": float(np.mean(errors)),
            "error_sd": float(np.std(errors)), "agree_labels": float((read == labels).mean()),
            "agree_target": float((read == attributes(classifier, targets)).mean()),
            "per_attribute": (read == labels).mean(0), "seconds": seconds}


def _classifier(size: int, args):
    """The attribute classifier, trained here or read from --classifier-cache (a file this bench wrote)."""
    from attribute_classifier import AttributeNet

    cache = Path(args.classifier_cache) if args.classifier_cache else None
    if cache is not None and cache.exists():
        from safetensors.torch import load_file

        model = AttributeNet()
        model.load_state_dict(load_file(str(cache)))
        return model.eval().requires_grad_(False)
    model = train_classifier(size=size, faces_count=args.classifier_faces)
    if cache is not None:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(cache))
    return model


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dcgan", default=str(ROOT / "models" / "demo-faces"))
    p.add_argument("--style", default=None, help="a style-based project trained on 32 px faces")
    p.add_argument("--images", type=int, default=16)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=777)
    p.add_argument("--style-space", default="w+", choices=("w", "w+"))
    p.add_argument("--w-share", type=float, default=None,
                   help="w+: share of the steps spent on one shared w first (default: the engine's)")
    p.add_argument("--d-features", type=float, default=0.0, metavar="WEIGHT",
                   help="add the project's discriminator features to the loss with this weight (0: off)")
    p.add_argument("--only", choices=("dcgan", "style"), default=None, help="measure one model only")
    p.add_argument("--classifier-faces", type=int, default=2000, help="faces the attribute classifier learns from")
    p.add_argument("--classifier-cache", default=None, metavar="FILE",
                   help="keep the trained classifier in FILE (.safetensors) for the next run")
    args = p.parse_args()
    args.space = {"style": args.style_space}
    torch.set_num_threads(1)
    size = 32
    targets, meta = faces(args.images, size, seed=args.seed)
    labels = binary_attributes(meta)
    t0 = time.perf_counter()
    classifier = _classifier(size, args)
    print(f"attribute classifier trained in {time.perf_counter() - t0:.0f} s; reads the targets' labels "
          f"{(attributes(classifier, targets) == labels).mean():.0%} right")
    print(f"{args.images} held-out faces (seed {args.seed}), {args.steps} steps each")
    rows = [measure(name, path, targets, labels, classifier, args)
            for name, path in (("dcgan", args.dcgan), ("style", args.style)) if args.only in (None, name)]
    for r in rows:
        per = ", ".join(f"{a} {v:.0%}" for a, v in zip(BINARY_ATTRIBUTES, r["per_attribute"]))
        print(f"{r['model']:>6} ({r['space']}, trained {r['step']:,} steps): error {r['error']:.1f} ± "
              f"{r['error_sd']:.1f} levels; attributes as labelled {r['agree_labels']:.0%} ({per}), as the "
              f"classifier reads the target {r['agree_target']:.0%}; {r['seconds']:.1f} s per image")
    if len(rows) == 2:
        dc, st = rows
        print(f"style {st['space']} / dcgan z error ratio: {st['error'] / dc['error']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
