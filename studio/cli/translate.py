"""`gan-studio translate PROJECT INPUT... --out DIR [--direction a2b|b2a] [--tile N] [--device D]`."""

from __future__ import annotations

import sys
from pathlib import Path

from studio.engine.errors import UserError
from studio.engine.words import counted


def run_translate(args) -> int:
    """Translate the files/folders in args.inputs with the project's generator; returns the exit code.

    Prints a progress bar, then one line per skipped file on stderr and a summary on stdout. Raises
    UserError (exit 2) for user mistakes: a missing project or input, a project of another kind or
    without a checkpoint, an output that would overwrite the inputs, or inputs without one usable image."""
    from tqdm import tqdm

    from studio.engine.explore.translate import Translator, plan_outputs

    translator = Translator.load(args.project, direction=args.direction, device=args.device or "auto")
    if translator.step == 0:
        print(f"warning: {args.project} has not been trained yet (step 0): the results will be noise", file=sys.stderr)
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder for the translated images.")
    jobs = plan_outputs(args.inputs, out)  # checks the inputs before any work starts
    if not jobs:
        raise UserError("No image files found in " + ", ".join(map(str, args.inputs)) + ".")

    bar = tqdm(total=len(jobs), unit="img", desc=f"translating {args.direction}", dynamic_ncols=True, disable=None)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        result = translator.translate_files(args.inputs, out, tile=args.tile, progress=progress)
    finally:
        bar.close()
    if not result.written:
        src, reason = result.failed[0]
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        raise UserError(f"No image could be translated: {src}: {reason}{more}.")
    for src, reason in result.failed:
        print(f"skipped {src}: {reason}", file=sys.stderr)
    skipped = f", skipped {len(result.failed)}" if result.failed else ""
    print(f"translated {counted(len(result.written), 'image')} to {out}{skipped}")
    return 0
