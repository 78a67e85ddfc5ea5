"""`gan-studio export PROJECT (--onnx FILE | --walk FILE | --timelapse FILE | --grid FILE) [options]`.

    --onnx FILE.onnx          the EMA generator as one ONNX file (dynamic batch), checked with onnxruntime;
                              --onnx-input w: a style-based model's synthesis with a ws (batch, num_ws, w_dim) input
    --walk FILE.{gif,mp4,webp} a looping latent walk through the first image of each --seeds seed
                              (or saved bookmarks with --bookmarks: z, or W / w+ walked in W), --frames N
                              in all at --fps F; --classes A,B walks across classes (models with classes)
    --timelapse FILE.{gif,mp4,webp} the project's saved sample grids, oldest first (--overlay: step numbers)
    --grid FILE.png           --count N new images of --seed S in one grid (a row per class with classes)

Each writes under a temporary name and renames when complete; the file lands in the given path
(relative paths are relative to the current folder, like every other command).
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from studio.cli import values
from studio.cli.values import scale_factor, user_path
from studio.engine.errors import UserError


def add_export_parser(sub) -> argparse.ArgumentParser:
    """Register the `export` subcommand on an argparse subparsers object."""
    ex = sub.add_parser("export", help="export a generator (ONNX), latent walks, time-lapses and grids")
    ex.add_argument("project", type=user_path)
    what = ex.add_mutually_exclusive_group(required=True)
    what.add_argument("--onnx", type=user_path, metavar="FILE", help="write the generator as ONNX (FILE.onnx)")
    ex.add_argument("--onnx-input", choices=("z", "w"), default="z",
                    help="onnx: the input, z (noise) or w (per-layer styles ws, style-based models only)")
    what.add_argument("--walk", type=user_path, metavar="FILE", help="latent-walk animation (FILE.gif, .mp4 or .webp)")
    what.add_argument("--timelapse", type=user_path, metavar="FILE",
                      help="training time-lapse of the sample grids (.gif/.mp4/.webp)")
    what.add_argument("--grid", type=user_path, metavar="FILE", help="a grid of new images (FILE.png)")
    ex.add_argument("--frames", type=values.frames, default=None, help="walk: frames in all (default 48 per seed)")
    ex.add_argument("--fps", type=float, default=None, help="frames per second (walk 24, time-lapse 8)")
    ex.add_argument("--seeds", default=None, help="walk: comma-separated seeds of the keyframes (default 1,2,3,4)")
    ex.add_argument("--bookmarks", default=None,
                    help="walk: comma-separated names of saved latents as keyframes (all z, or all W / w+)")
    ex.add_argument("--classes", default=None, metavar="NAMES",
                    help="models with classes: comma-separated class names; walk: one class for every keyframe, "
                         "or several to walk across them (at one seed or bookmark, or paired with as many); "
                         "grid: a row per class (default: every class)")
    ex.add_argument("--slerp", action="store_true", help="walk: spherical instead of straight interpolation")
    ex.add_argument("--easing", choices=("linear", "smooth", "ease-in", "ease-out", "sine"), default="smooth")
    ex.add_argument("--hold", type=values.hold, default=0.0, help="walk: seconds to rest on each keyframe")
    ex.add_argument("--no-loop", action="store_true", help="walk: stop at the last keyframe instead of returning")
    ex.add_argument("--truncation", type=float, default=1.0,
                    help="walk/grid: pull latents toward the mean (0-1); a style-based model's styles toward the "
                    "average style")
    ex.add_argument("--scale", type=scale_factor, default=None, help="enlarge each image by this whole factor, 1-16")
    crisp = ex.add_mutually_exclusive_group()
    crisp.add_argument("--pixels", action="store_true", help="enlarge with crisp square pixels instead of smoothly")
    crisp.add_argument("--smooth", action="store_true", help="smooth (Lanczos) enlargement: the default")
    ex.add_argument("--overlay", action="store_true", help="time-lapse: write the step number on each frame")
    ex.add_argument("--count", type=values.grid_count, default=16, help="grid: number of images (default 16)")
    ex.add_argument("--seed", type=values.seed, default=0, help="grid: seed of the images")
    ex.add_argument("--device", default="auto")
    return ex


def _parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise UserError(f"--seeds must be whole numbers separated by commas (got '{text}').") from None
    if not seeds:
        raise UserError("--seeds needs at least one seed.")
    bad = [x for x in seeds if not 0 <= x < values.SEED_LIMIT]
    if bad:
        raise UserError(f"--seeds must be from 0 to 2^63 - 1 (got {bad[0]}).")
    return seeds


def _names(text: str, option: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UserError(f"{option} needs at least one name.")
    return names


def _bar(desc: str, total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, unit="frame", desc=desc, dynamic_ncols=True, disable=None, leave=False)

    def progress(done: int, total_: int) -> None:
        bar.total = total_
        bar.update(done - bar.n)

    return bar, progress


def _generator(project, device: str, out: Path):
    """The project's generator for an export to `out`, with the user errors the export commands share:
    the project's kind must have a latent space and offer the file's format (`ModelKind.export_formats`)."""
    from studio.engine.explore.generator import load_generator
    from studio.engine.models import KINDS, get_kind

    fmt = out.suffix.lstrip(".").lower()
    kind = get_kind(project.kind)
    if not (kind.capabilities.latent_space and fmt in kind.export_formats):
        able = [k.title for k in KINDS.values() if k.capabilities.latent_space and fmt in k.export_formats]
        raise UserError(f"{project.root} is a {kind.title} project; this export needs a {' or '.join(able)} project.")
    return load_generator(project.root, device=device)


def run_export(args) -> int:
    """Run `gan-studio export`; returns the exit code. UserError (exit 2) for user mistakes."""
    from studio.engine.explore import export
    from studio.engine.project.folder import Project

    project = Project.open(args.project)
    # Check the file name before loading any model, so a typo fails instantly.
    if args.onnx:
        out = export.check_extension(args.onnx, (".onnx",), "generators")
    elif args.walk:
        out = export.check_extension(args.walk, export.ANIMATION_FORMATS, "animations")
    elif args.timelapse:
        out = export.check_extension(args.timelapse, export.ANIMATION_FORMATS, "animations")
    else:
        out = export.check_extension(args.grid, export.IMAGE_FORMATS, "grids")
    if args.fps is not None and not (0 < args.fps <= 120):
        raise UserError(f"--fps must be between 0 and 120 (got {args.fps}).")
    if not (0.0 <= args.truncation <= 2.0):
        raise UserError(f"--truncation must be between 0 and 2 (got {args.truncation}).")

    if args.timelapse:
        samples = project.sample_steps()
        fps = args.fps or 8.0
        bar, progress = _bar("time-lapse", len(samples))
        try:
            export.export_timelapse(project, out, fps=fps, overlay=args.overlay, scale=args.scale or 1,
                                    smooth=not args.pixels, progress=progress)
        finally:
            bar.close()
        print(f"wrote {out} ({len(samples)} sample grids at {fps:g} fps)")
        return 0

    model = _generator(project, args.device, out)
    if args.onnx:
        worst = export.export_onnx(model, out, verify=True, space=args.onnx_input)
        given = f"z {model.z_dim}" if args.onnx_input == "z" else f"ws {model.num_ws}x{model.w_dim}"
        if model.class_names and args.onnx_input == "z":
            given += f" + class_weights {len(model.class_names)} ({', '.join(model.class_names)})"
        print(f"wrote {out} ({given} -> {model.cfg.channels}x{model.cfg.size}x{model.cfg.size}, "
              f"any batch; onnxruntime matches PyTorch within {worst:.1e})")
        return 0
    if args.grid:
        return _grid(args, model, out)
    return _walk(args, project, model, out)


def _grid(args, model, out: Path) -> int:
    """A grid of --count images of --seed; with classes, a row of the same images per class (every
    class, or those of --classes), as the training preview shows them."""
    import numpy as np

    from studio.engine.explore import export
    from studio.engine.explore.latent import random_latents
    from studio.engine.explore.walk_keyframes import class_indices

    z, psi = random_latents(args.seed, args.count, model.z_dim), args.truncation
    if args.classes is not None or model.class_names:
        names = _names(args.classes, "--classes") if args.classes is not None else list(model.class_names)
        classes = class_indices(model, names)
        pictures = np.concatenate([model.generate(z, c, psi=psi) for c in classes])
        export.save_grid(out, pictures, nrow=args.count, scale=args.scale or 1, smooth=not args.pixels)
        print(f"wrote {out} ({args.count} images, seed {args.seed}, a row per class: {', '.join(names)})")
        return 0
    export.save_grid(out, model.generate(z, psi=psi), scale=args.scale or 1, smooth=not args.pixels)
    print(f"wrote {out} ({args.count} images, seed {args.seed})")
    return 0


def _walk(args, project, model, out: Path) -> int:
    import numpy as np

    from studio.engine.explore import export
    from studio.engine.explore import style_space as S
    from studio.engine.explore.latent import WalkSettings, seed_latent
    from studio.engine.explore.walk_keyframes import Keyframes, bookmark_keyframes, class_indices, with_classes

    classes = class_indices(model, _names(args.classes, "--classes")) if args.classes is not None else None
    if args.bookmarks is not None:
        names = _names(args.bookmarks, "--bookmarks")
        keys = bookmark_keyframes(project.root, model, names)
        label = f"{'W ' if keys.space == 'w' else ''}bookmarks {', '.join(names)}"
    else:
        # a walk across classes holds one latent: the first seed's, unless seeds are given
        seeds = _parse_seeds(args.seeds or ("1" if classes and len(classes) > 1 else "1,2,3,4"))
        keys = Keyframes("z", np.stack([seed_latent(s, model.z_dim) for s in seeds]))
        label = f"seeds {', '.join(map(str, seeds))}"
    if keys.space == "w" and args.slerp:
        raise UserError("W bookmarks are walked in straight lines (W is not a sphere); drop --slerp.")
    if classes is not None:
        keys = with_classes(keys, classes, len(model.class_names))
        label += f" as {' -> '.join(model.class_names[i] for i in classes)}"
    elif model.class_names and keys.space == "z":
        label += f" as {model.class_names[0]} (--classes to choose)"
    count = len(keys.latents)
    fps = args.fps or 24.0
    frames = args.frames or 48 * max(1, count)
    if frames > values.MAX_FRAMES:
        raise UserError(f"{count} keyframes at 48 frames each is more than {values.MAX_FRAMES:,} frames; "
                        "give fewer keyframes or --frames N.")
    hold = int(round(args.hold * fps))
    loop = not args.no_loop
    segments = max(1, count if loop else count - 1)
    held = count * hold if loop else (count - 1) * hold + max(1, hold)
    # the timeline's proportions; export_walk then resamples it to exactly `frames` frames
    walk = WalkSettings(frames_per_transition=max(1, round((frames - held) / segments)), hold_frames=hold,
                        interpolation="slerp" if args.slerp else "lerp", easing=args.easing, loop=loop)
    scale = args.scale or max(1, 256 // model.cfg.size)
    values.check_animation_memory(frames, model.cfg.size * scale, out.suffix)
    psi = args.truncation
    if keys.space == "w":
        generate, centre = model.generate_w, S.mean_flat(model.w_avg, model.num_ws)  # truncation pulls to w_avg
    else:  # each frame's z truncated as the model truncates (a style-based model: its styles)
        generate, centre, psi = partial(model.generate, psi=psi), None, 1.0
    bar, progress = _bar("walk", frames)
    try:
        settings = export.AnimationSettings(fps=fps, scale=scale, smooth=not args.pixels)
        export.export_walk(out, generate, list(keys.latents), walk, settings, frames=frames, psi=psi,
                           progress=progress, classes=keys.classes, centre=centre)
    finally:
        bar.close()
    print(f"wrote {out} ({frames} frames at {fps:g} fps through {label})", file=sys.stdout)
    return 0
