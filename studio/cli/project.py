"""`gan-studio project PROJECT IMAGE... --out DIR [--steps N] [--space z|w|w+] [--video FILE]`.

Projects each image into the project's latent space (see `studio.engine.explore.projection`) and
writes, per image NAME: NAME-projected.png, NAME-target.png (the image as the model sees it),
NAME-difference.png, and the latent as NAME-latent.json and NAME-latent.safetensors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.cli import values
from studio.cli.values import user_path
from studio.engine.errors import UserError

MAX_PROJECTION_STEPS = 100_000


def add_project_parser(sub) -> argparse.ArgumentParser:
    """Register the `project` subcommand on an argparse subparsers object."""
    p = sub.add_parser("project", help="find the latent of your own images, to edit them in the explorer")
    p.add_argument("project", type=user_path)
    p.add_argument("images", type=user_path, nargs="+", metavar="IMAGE", help="image files to project")
    p.add_argument("--out", type=user_path, required=True, help="folder for the pictures and latents")
    p.add_argument("--steps", type=values.whole(1, MAX_PROJECTION_STEPS), default=300,
                   help="optimisation steps per image (default 300)")
    p.add_argument("--space", choices=("auto", "z", "w", "w+"), default="auto",
                   help="auto (default): w+ (a style per layer) for style-based models, z for the others")
    p.add_argument("--starts", type=values.whole(1, 64), default=4,
                   help="latents searched side by side, the best kept (default 4)")
    p.add_argument("--seed", type=values.seed, default=0)
    p.add_argument("--video", action="store_true",
                   help="also write NAME-search.mp4: the target beside the search, one frame every few steps")
    p.add_argument("--device", default="auto")
    return p


def run_project(args) -> int:
    """Project every image; prints one progress bar per image and one line per result."""
    from tqdm import tqdm

    from studio.engine.explore.generator import load_generator
    from studio.engine.explore.projection import ProjectionSettings, load_target, project, save_projection

    settings = ProjectionSettings(steps=args.steps, space=args.space, starts=args.starts, seed=args.seed,
                                  candidates=max(64, args.starts))
    settings.validate()
    missing = [p for p in args.images if not Path(p).is_file()]
    if missing:
        raise UserError(f"{missing[0]} is not an image file" + (f" (and {len(missing) - 1} more)" if len(missing) > 1
                                                                 else "") + ".")
    model = load_generator(args.project, device=args.device)
    if model.step == 0:
        print(f"warning: {args.project} has not been trained yet (step 0): the results will be noise", file=sys.stderr)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the results.")
    stems = _stems(args.images)
    errors = []
    for i, (image, stem) in enumerate(zip(args.images, stems)):
        target = load_target(args.project, image)
        bar = tqdm(total=settings.steps, unit="step", desc=f"{Path(image).name} ({i + 1}/{len(stems)})",
                   dynamic_ncols=True, disable=None)
        frames = []
        every = max(1, settings.steps // 60)
        try:
            result = project(model, target, settings,
                             progress=lambda done, total, _, bar=bar: bar.update(done - bar.n),
                             frame=(lambda step, pic, frames=frames: frames.append(pic)) if args.video else None,
                             frame_every=every if args.video else 0)
        finally:
            bar.close()
        paths = save_projection(result, out, stem, project=str(args.project), checkpoint_step=model.step,
                                image=str(image), kind=model.kind.name)
        if frames:
            paths["video"] = _write_video(out / f"{stem}-search.mp4", target, frames)
        errors.append(result.error)
        print(f"{Path(image).name}: {result.space} latent {'x'.join(map(str, result.latent.shape))}, "
              f"error {result.error:.1f} levels (RMS of 255) -> {paths['projected']}, {paths['json'].name}")
    if len(errors) > 1:
        print(f"projected {len(errors)} images into {out}, mean error {sum(errors) / len(errors):.1f} levels")
    return 0


def _stems(images: list[str]) -> list[str]:
    """Output names: each image's own name, numbered where two images share one."""
    stems, seen = [], {}
    for image in images:
        stem = Path(image).stem
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return stems


def _write_video(path: Path, target, frames) -> Path:
    import numpy as np

    from studio.engine.explore.export import AnimationSettings, write_animation

    pairs = [np.concatenate([target, f], axis=1) for f in frames]
    pairs += [pairs[-1]] * 12  # rest on the result for half a second
    return write_animation(path, pairs, len(pairs), AnimationSettings(fps=24, scale=4))
