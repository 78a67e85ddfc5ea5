"""`gan-studio`: the command line over the engine (no Qt is imported unless the studio opens).

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr, never a traceback),
1 an unexpected internal error, 130 interrupted before anything could be saved.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.cli import kind_args, qt_libs, values
from studio.cli.signals import SESSION_END
from studio.cli.signals import StopFlag as _StopFlag
from studio.cli.values import scale_factor, user_path, window_size
from studio.engine.errors import UserError
from studio.engine.models import KINDS
from studio.engine.words import plural

SUBCOMMANDS = ("train", "resume", "generate", "translate", "export", "project", "import-model", "demo-data")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage + error by default)
        # main() prints "gan-studio: " before the message: name the subcommand only, not the program twice
        where = self.prog.removeprefix("gan-studio").strip()
        raise UserError(f"{where + ': ' if where else ''}{message} (see '{self.prog} --help').")


def _add_common_training(p: argparse.ArgumentParser, kind) -> None:
    """The flags every `train KIND` takes; a value left out comes from the kind's suggestion for
    the folders (see studio.cli.kind_args), as in the studio's wizard."""
    from studio.engine.config import RunSettings
    from studio.engine.models.suggest import SMALL_SET

    d = RunSettings()
    p.add_argument("--out", type=user_path, required=True, help="new project folder to create")
    if kind.capabilities.latent_space:
        p.add_argument("--from", dest="parent", type=user_path, default=None, metavar="PROJECT_OR_MODEL",
                       help="start from this trained project (or checkpoint file) of the same kind and fine-tune "
                            "it on the images: its weights, network and size; augmentation on, fewer steps")
    p.add_argument("--size", type=values.size, default=None,
                   help=f"image side in pixels: {', '.join(map(str, kind.sizes))} (default: from the images' sizes)")
    p.add_argument("--batch", type=values.batch, default=None,
                   help=f"{kind.batch_unit} per step (default: what fits the device's memory)")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help=f"mirror images left-right at random (default: on below {SMALL_SET:,} images)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--steps", type=values.steps, default=None,
                   help=f"total training steps (default {kind.default_steps:,})")
    g.add_argument("--minutes", type=values.minutes, default=None, help="train for this many minutes instead")
    p.add_argument("--device", default=d.device, help="auto | cpu | cuda | mps (default auto)")
    p.add_argument("--devices", type=values.devices, default=1,
                   help="train data-parallel on N GPUs (or N CPU processes) with PyTorch DDP via torchrun")
    p.add_argument("--seed", type=values.seed, default=d.seed, help="same seed, same run")
    p.add_argument("--checkpoint-every", type=values.every, default=None,
                   help=f"save a checkpoint every N steps (default {d.checkpoint_every})")
    p.add_argument("--sample-every", type=values.every, default=None,
                   help=f"save a sample grid every N steps (default {kind.default_sample_every})")
    p.add_argument("--log-every", type=values.every, default=d.log_every)
    p.add_argument("--metric-every", type=values.every_or_zero, default=d.metric_every,
                   help="quality metric every N steps (0: off)")
    p.add_argument("--alpha", choices=("white", "black", "keep"), default="white",
                   help="transparent images: composite on white/black, or keep the alpha channel")
    p.add_argument("--fit", choices=("crop", "pad"), default="crop", help="center-crop or letterbox to a square")
    p.add_argument("--grayscale", action="store_true", help="train on one-channel grey images")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default=None,
                   help="auto (default): the path measured fastest on this machine among those the model's quality "
                        "check approved (timed once per model shape, then remembered)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gan-studio", description="Train and explore GANs on your own images.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    train = sub.add_parser("train", help="start a new project and train it")
    tsub = train.add_subparsers(dest="kind", parser_class=_Parser, metavar="KIND", required=True)
    kind_args.add_train_parsers(tsub, _add_common_training)  # one `train KIND` per model kind

    res = sub.add_parser("resume", help="continue a project exactly where it stopped")
    res.add_argument("project", type=user_path)
    res.add_argument("--steps", type=values.steps, default=None,
                     help="train until this step in total (a new total, not more steps on top)")
    res.add_argument("--minutes", type=values.minutes, default=None,
                     help="train this many more minutes, past the planned total; with --steps, whichever comes first")
    res.add_argument("--device", default=None)
    res.add_argument("--devices", type=values.devices, default=1, help="data-parallel processes (PyTorch DDP)")
    res.add_argument("--restart", action="store_true",
                     help="train again from step 0 (the earlier run's files are moved to set-aside/, not deleted)")
    kind_args.add_relocation_flags(res)  # --data, --data-a...: the kinds' role flags

    latent = " or ".join(k.title for k in KINDS.values() if k.capabilities.latent_space)
    gen = sub.add_parser("generate", help=f"write new images from a trained {latent}")
    gen.add_argument("project", type=user_path)
    gen.add_argument("--count", type=values.count, required=True)
    gen.add_argument("--out", type=user_path, required=True, help="folder for the PNG files")
    gen.add_argument("--seed", type=values.seed, default=0)
    gen.add_argument("--force", action="store_true", help="replace pictures of the same names already in --out")
    gen.add_argument("--device", default="auto")
    gen.add_argument("--scale", type=scale_factor, default=1,
                     help="enlarge each picture by this whole factor, 1-16 (smooth Lanczos; see --pixels)")
    gen.add_argument("--pixels", action="store_true", help="enlarge with crisp square pixels instead of smoothly")
    gen.add_argument("--class", dest="class_name", metavar="NAME", default=None,
                     help="for a model trained with classes (sub-folders): draw only this class "
                          "(default: every class in turn)")

    translating = " or ".join(k.title for k in KINDS.values() if k.capabilities.translates)
    tr = sub.add_parser("translate", help=f"translate images with a trained {translating}")
    tr.add_argument("project", type=user_path)
    tr.add_argument("inputs", type=user_path, nargs="+", metavar="INPUT", help="image files or folders")
    tr.add_argument("--out", type=user_path, required=True)
    tr.add_argument("--direction", choices=("a2b", "b2a"), default="a2b")
    tr.add_argument("--tile", type=values.tile, default=None, help="tile size in pixels for large images")
    tr.add_argument("--device", default="auto")

    demo = sub.add_parser("demo-data", help="write a procedural demo dataset (labelled faces, or day/night scenes)")
    demo.add_argument("dataset", choices=("faces", "scenes"),
                      help="faces: portraits + labels.csv; scenes: day (A/) and night (B/) landscapes")
    demo.add_argument("out", type=user_path, metavar="OUT", help="new or empty folder to write into")
    demo.add_argument("--count", type=values.count, default=2000,
                      help="number of images, per domain for scenes (default 2000)")
    demo.add_argument("--size", type=values.size, default=64, help="image size in pixels (default 64)")
    demo.add_argument("--seed", type=values.seed, default=0, help="same seed, same images")

    from studio.cli.export import add_export_parser  # argparse + engine only: no Qt, no torch

    add_export_parser(sub)
    from studio.cli.project import add_project_parser

    add_project_parser(sub)
    from studio.cli.import_model import add_import_parser

    add_import_parser(sub)
    return parser


# ----- commands ------------------------------------------------------------------------------------
def _drive(session, minutes: float | None) -> int:
    from tqdm import tqdm

    from studio.engine.project.checkpoints import list_checkpoints

    if not session.dist.is_main:  # data-parallel helper process: rank 0 reports for everyone
        for ev in session.run(minutes=minutes):
            if ev.stopped:
                return 1
        return 0

    from studio.engine.train.fast_path import describe_training

    print(f"device: {describe_training(session.trainer)}", file=sys.stderr)
    for w in session.warnings:
        print(f"warning: {w}", file=sys.stderr)
    project = session.project
    start = session.trainer.global_step
    target = session.settings.steps
    with _StopFlag() as flag:
        total = target if target < values.MAX_STEPS else None  # a timed run has no total to show
        bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True, disable=None)
        last = None
        for ev in session.run(minutes=minutes, should_stop=flag.event.is_set):
            bar.update(ev.step - bar.n)
            bar.set_postfix({**{k: f"{v:.3f}" for k, v in ev.losses.items()}, "img/s": f"{ev.images_per_s:.0f}"},
                            refresh=False)
            if ev.stopped == "write_error":
                # The studio keeps the model in memory and retries; this process ends, so say what is on disk.
                found = list_checkpoints(project.checkpoints_dir)
                bar.close()
                print(f"gan-studio: cannot write to {project.root} ({ev.error}); training stopped. The project "
                      f"on disk is safe at step {found[-1][0] if found else 0}: free some space and run "
                      f"'gan-studio resume {project.root}'", file=sys.stderr)
                return 1
            for m in ev.messages:
                tqdm.write(f"warning: {m}", file=sys.stderr)
            last = ev
            if ev.stopped:
                bar.close()
                print(f"gan-studio: training stopped ({ev.stopped.replace('_', ' ')}); "
                      f"the project is at step {session.trainer.global_step}", file=sys.stderr)
                return 1
        bar.close()
    step = session.trainer.global_step
    if target >= values.MAX_STEPS:  # trained for a time, with no total
        print(f"{project.root}: step {step:,}")
        return 0
    print(f"{project.root}: step {step}/{target}" + (" (stopped early, resume with 'gan-studio resume')"
                                                   if step < target and last is not None else ""))
    return 0


def _cmd_train(args) -> int:
    import dataclasses

    from studio.engine.models.sessions import create_session, open_session

    folders = kind_args.train_folders(args)
    info, device = _join_processes(args.device)

    def make():
        # What the user left out comes from the kind's suggestion for the folders, as in the studio.
        data_cfg, settings, overrides = kind_args.train_settings(args)
        if info.active:
            settings = dataclasses.replace(settings, device=device)
        return create_session(args.out, args.kind, folders, data_cfg, settings, overrides,
                              progress=_decode_progress() if info.is_main else None, devices=info.world,
                              parent=getattr(args, "parent", None))

    session = _on_rank0_then_all(info, device, make, lambda: open_session(args.out, device=device, dist_info=info))
    if session is None:
        return 2
    try:
        if info.is_main:
            for role, line in _report_lines(session.project):
                print(f"[{role}] {line}" if role != "data" else line)
            parent = session.project.meta.get("parent")
            if parent:
                print(f"fine-tuned from {parent['path']} at step {parent['step']:,}")
                for line in parent.get("adapted", []):
                    print(f"  {line}")
        return _drive(session, args.minutes)
    finally:
        session.close()  # the training lock, given back also to an in-process caller


def _check_distributable(args) -> None:
    """Refuse --devices for a kind without data-parallel training before starting N processes."""
    from studio.engine.models import get_kind
    from studio.engine.project.folder import Project

    spec = get_kind(args.kind if args.command == "train" else Project.open(args.project).kind)
    if not spec.capabilities.multi_device:
        raise UserError(f"{spec.title} cannot train on several devices yet; drop --devices.")


def _join_processes(device: str):
    from studio.engine.train.distributed import init_from_env

    return init_from_env(device)


def _on_rank0_then_all(info, device: str, make, reopen):
    """Rank 0 creates the project (decoding and caching the data); then every rank opens it.
    Every rank learns whether rank 0 failed, so none waits forever on a bad folder."""
    import torch

    from studio.engine.train.distributed import any_across, barrier

    if not info.active:
        return make()
    error, session = None, None
    if info.is_main:
        try:
            session = make()
        except UserError as e:
            error = e
    if any_across(info, error is not None, torch.device(device)):
        if error is not None:
            raise error
        return None
    # Every rank (rank 0 too) now opens the project with a data-parallel trainer: building DDP
    # modules is itself a collective, so all ranks must do it at the same point.
    session = reopen()
    barrier(info)  # nobody writes before every rank has opened the project
    return session


def _report_lines(project):
    from studio.engine.data.dataset import DatasetReport

    for role, rep in project.meta["data"].get("reports", {}).items():
        for line in DatasetReport.from_dict(rep).lines():
            yield role, line


def _decode_progress():
    from tqdm import tqdm

    state = {}

    def progress(done: int, total: int) -> None:
        if "bar" not in state:
            state["bar"] = tqdm(total=total, unit="img", desc="preparing images", leave=False, disable=None)
        bar = state["bar"]
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()
            state.clear()

    return progress


def _relocate_from_args(args, is_main: bool = True) -> None:
    """Record the new places of moved image folders given to resume (its kind's role flags: --data,
    --data-a...). The launcher of a multi-process run does this once; on its ranks the places
    already match and nothing is written (relocate skips an unchanged project)."""
    import contextlib

    from studio.engine.models import get_kind
    from studio.engine.project import lock as training_lock
    from studio.engine.project import relocation as data_folders
    from studio.engine.project.folder import Project

    moved = kind_args.moved_folders(args, get_kind(Project.open(args.project, clean=False).kind))
    if moved:
        # project.json is rewritten: never under another process's training (the main rank's lock)
        with training_lock.acquire(args.project) if is_main else contextlib.nullcontext():
            data_folders.relocate(Project.open(args.project, clean=False), moved)


def _cmd_resume(args) -> int:
    from studio.engine.models.sessions import open_session
    from studio.engine.project import relocation as data_folders

    info, device = _join_processes(args.device or "auto")
    _relocate_from_args(args, info.is_main)
    try:
        session = open_session(args.project, device=device if info.active else args.device, steps=args.steps,
                               progress=_decode_progress() if info.is_main else None, dist_info=info,
                               restart=args.restart)
    except data_folders.ImagesMissing as e:
        from studio.engine.models import get_kind
        from studio.engine.project.folder import Project

        flags = kind_args.relocation_hint(get_kind(Project.open(args.project, clean=False).kind), e.missing)
        raise UserError(f"{str(e).removesuffix('.')}; if you moved them, resume with {flags}.") from None
    try:  # close(): the training lock is given back before this returns, also to an in-process caller
        step = session.trainer.global_step
        if args.steps is not None and args.steps <= step:
            raise UserError(f"{args.project} is already at step {step:,}. --steps is the new total: pass more than "
                            f"{step:,}, or --minutes M to train for more time.")
        if args.minutes is None and step >= session.settings.steps:
            raise UserError(f"{args.project} already reached step {step:,}. Pass --steps N (a new total above "
                            f"{step:,}) or --minutes M (more time) to train more.")
        if args.minutes is not None and args.steps is None:
            import dataclasses

            # More time, not up to the planned total: the clock is the only limit.
            session.settings = dataclasses.replace(session.settings, steps=values.MAX_STEPS)
        if session.dist.is_main:
            print(_continuing(step, session.settings.steps, args.minutes), flush=True)
        return _drive(session, args.minutes)
    finally:
        session.close()


def _continuing(step: int, target: int, minutes: float | None) -> str:
    """The line resume prints before training: where it continues from and until when."""
    until = f"until step {target:,}" if target < values.MAX_STEPS else ""
    if minutes is None:
        return f"Continuing from step {step:,} {until}."
    more = f"for {minutes:g} more {plural(minutes, 'minute')}"
    return f"Continuing from step {step:,} {more}" + (f" or {until}, whichever comes first." if until else ".")


def _launch_resume(args, argv: list[str]) -> list[str]:
    """What a multi-process resume does once, in the launcher, holding the project's training lock:
    record moved image folders and, with --restart, set the earlier run aside. Returns the ranks'
    arguments (without --restart: there is nothing left to set aside when they start)."""
    from studio.engine.project import lock as training_lock
    from studio.engine.project.checkpoints import set_aside_training
    from studio.engine.project.folder import Project

    with training_lock.acquire(args.project):
        _relocate_from_args(args)
        if args.restart:
            set_aside_training(Project.open(args.project))
    return [a for a in argv if a != "--restart"]


GENERATE_BATCH = 64


def _cmd_generate(args) -> int:
    import torch

    from studio.engine.explore.export import upscale
    from studio.engine.explore.generator import latents_for_seed, load_generator
    from studio.engine.images import save_png
    from studio.engine.project.folder import Project

    model = load_generator(args.project, device=args.device)
    out = Path(args.out)
    classes = model.class_names
    if args.class_name is not None and args.class_name not in classes:
        raise UserError(f"{args.project} was trained without classes; drop --class." if not classes else
                        f"The model has no class '{args.class_name}'; it has: {', '.join(classes)}.")
    if args.class_name is not None:
        labels = torch.full((args.count,), classes.index(args.class_name))
    else:
        labels = torch.arange(args.count) % len(classes) if classes else None  # every class in turn
    tag = f"-{args.class_name}" if args.class_name is not None else ""
    names = [f"seed{args.seed}{tag}-{i:05d}.png" for i in range(args.count)]
    taken = [n for n in names if (out / n).exists()] if out.is_dir() else []
    if taken and not args.force:
        raise UserError(f"{out} already holds {len(taken):,} of these pictures ({taken[0]}); choose another --out, "
                        "or pass --force to replace them.")
    for folder in Project.open(args.project, clean=False).data_folders():
        if out.resolve().is_relative_to(Path(folder).resolve()):
            print(f"warning: {out} is inside the training folder {folder}; these pictures will be trained on "
                  "if the project is resumed", file=sys.stderr)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"Cannot create {out}: {e.strerror}.") from None
    # A batch at a time: a large --count never holds more than one batch of pictures in memory.
    latents = latents_for_seed(args.seed, args.count, model.z_dim)
    for start in range(0, args.count, GENERATE_BATCH):
        part = slice(start, start + GENERATE_BATCH)
        for name, pic in zip(names[start:], model.generate(latents[part], None if labels is None else labels[part])):
            save_png(out / name, upscale(pic, args.scale, smooth=not args.pixels))
    print(f"wrote {args.count} images to {out}")
    return 0


def _cmd_translate(args) -> int:
    from studio.cli.translate import run_translate

    return run_translate(args)


def _cmd_demo_data(args) -> int:
    from studio.engine.data.demo_sets import write_faces, write_scenes

    write = write_faces if args.dataset == "faces" else write_scenes
    out = write(args.out, args.count, args.size, args.seed)
    what = (f"{args.count} faces + labels.csv" if args.dataset == "faces"
            else f"{args.count} day (A/) + {args.count} night (B/) scenes")
    print(f"wrote {what} to {out}")
    return 0


def _cmd_export(args) -> int:
    from studio.cli.export import run_export

    return run_export(args)


def _cmd_import_model(args) -> int:
    from studio.cli.import_model import run_import

    return run_import(args)


def _cmd_project(args) -> int:
    from studio.cli.project import run_project

    return run_project(args)


def _open_studio(argv: list[str]) -> int:
    p = _Parser(prog="gan-studio", description="Open the studio (with no PROJECT: the last project or the demo).",
                epilog=f"commands: {', '.join(SUBCOMMANDS)} (gan-studio COMMAND --help)")
    p.add_argument("project", type=user_path, nargs="?", help="project folder to open")
    p.add_argument("--screenshot", type=user_path, metavar="FILE",
                   help="save a PNG of the window once rendered, then exit")
    p.add_argument("--window-size", type=window_size, metavar="WxH",
                   help="open the window at exactly this size in pixels, e.g. 1280x720 (with --screenshot too)")
    args = p.parse_args(argv)
    # Before Qt loads: where it cannot open a window it aborts the process with a page of plugin
    # advice; say why in a sentence instead (no display, or the one command that installs its libraries).
    if qt_libs.report_window_problem():
        return 1
    try:
        from studio.ui.main import run_studio
    except ModuleNotFoundError as e:
        if e.name and (e.name.startswith("PySide6") or e.name.startswith("studio.ui")):
            build_parser().print_help()
            return 0
        raise
    return run_studio(args.project, screenshot=args.screenshot, window_size=args.window_size)


def entry() -> None:
    """The `gan-studio` command and `python -m studio` (what torchrun starts on every rank)."""
    code = main()
    if "torch.distributed" in sys.modules:  # only a torchrun rank can have joined a process group
        from studio.engine.train.distributed import exit_rank

        exit_rank(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv or argv[0] not in SUBCOMMANDS + ("-h", "--help"):
            return _open_studio(argv)
        if argv[0] == "train" and (len(argv) == 1 or argv[1].startswith("-")) and not {"-h", "--help"} & set(argv):
            # argparse would take the first value after an option for the kind ("invalid choice: 'photos/'")
            raise UserError(f"Name the kind of model to train first: gan-studio train KIND --data ... "
                            f"(KIND: {', '.join(KINDS)}; 'gan-studio train KIND --help' lists its options).")
        args = build_parser().parse_args(argv)
        if getattr(args, "devices", 1) > 1:
            from studio.engine.train.distributed import launched_by_torchrun, relaunch

            if not launched_by_torchrun():
                values.check_devices(args.devices, args.device)
                _check_distributable(args)
                if args.command == "resume":
                    argv = _launch_resume(args, argv)  # once, before the ranks start reading the project
                # A terminal's signal reaches torchrun too, which passes it on to the ranks (they save);
                # this process waits for them (on Ctrl-C, subprocess.call would SIGKILL torchrun).
                with _StopFlag():
                    return relaunch(argv, args.devices)
        handler = {
            "train": _cmd_train,
            "resume": _cmd_resume,
            "generate": _cmd_generate,
            "translate": _cmd_translate,
            "export": _cmd_export,
            "project": _cmd_project,
            "import-model": _cmd_import_model,
            "demo-data": _cmd_demo_data,
        }.get(args.command)
        if handler is None:
            raise UserError(f"'{args.command}' is not available in this version yet.")
        if args.command in ("train", "resume"):
            from studio.engine.project.lock import describe_process

            describe_process(f"gan-studio {args.command}")
            # From the start: the session ending during the (slow) start-up stops training before its
            # first step; Ctrl-C aborts the start-up at once until the training loop takes it over.
            with _StopFlag(SESSION_END):
                return handler(args)
        return handler(args)
    except UserError as e:
        print(f"gan-studio: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # read-only or full disk, vanished folder: the user's to fix, not a traceback
        where = Path(e.filename) if isinstance(e.filename, str) else None
        if where is not None and where.name.startswith(".tmp-"):  # atomic writes fail on their temp file
            where = where.parent
        print(f"gan-studio: {e.strerror or e}" + (f": {where}" if where else ""), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gan-studio: interrupted", file=sys.stderr)
        return 130
    except SystemExit as e:  # --help
        return int(e.code or 0)


if __name__ == "__main__":
    sys.exit(main())
