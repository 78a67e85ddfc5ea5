"""Checkpoint files: tensors in safetensors, metadata in JSON, both written atomically.

A checkpoint `step-0001234` is two files in the checkpoints folder:
``step-0001234.safetensors`` (weights, optimizer moments, RNG states) and
``step-0001234.json`` (config, step, hyper-parameters, the sha256 of the tensor file).
The JSON is written last, so it is the commit marker: a checkpoint whose JSON is missing
or whose hash does not match its tensor file is ignored, never half-loaded. Nothing here
ever unpickles: safetensors and JSON cannot run code.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from studio.engine.atomic import remove_stale_temp_files, write_bytes_atomic, write_text_atomic
from studio.engine.errors import CheckpointError
from studio.engine.project.checkpoint_files import (  # noqa: F401 - re-exported: the names belong with checkpoints
    checkpoint_name,
    list_checkpoints,
    step_files,
)
from studio.engine.project.schema import check_checkpoint_meta
from studio.engine.words import counted

FORMAT_VERSION = 1
# Refuse absurd files before reading them into memory (a generator is a few MB to ~200 MB).
MAX_CHECKPOINT_BYTES = 2 * 1024**3


def save_checkpoint(folder: Path | str, step: int, tensors: dict[str, torch.Tensor], meta: dict) -> Path:
    """Write a checkpoint for `step` atomically; returns the path of its JSON file.

    Refuses (CheckpointError) to save non-finite weights, so a diverged run can never
    replace the last good checkpoint. Any thread may call it; tensors may live on any device.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cpu = {}
    for k, t in tensors.items():
        t = t.detach()
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"not saving step {step}: '{k}' holds NaN or infinite values")
        cpu[k] = t.to("cpu").contiguous()
    blob = st_save(cpu)
    base = folder / checkpoint_name(step)
    meta = dict(meta, format=FORMAT_VERSION, step=step, sha256=hashlib.sha256(blob).hexdigest())
    write_bytes_atomic(base.with_suffix(".safetensors"), blob)
    try:
        write_text_atomic(base.with_suffix(".json"), json.dumps(meta, indent=1, sort_keys=True))
    except BaseException:
        # The one tensor file provably ours and uncommitted: the save it belongs to failed here.
        base.with_suffix(".safetensors").unlink(missing_ok=True)
        raise
    return base.with_suffix(".json")


def load_checkpoint(path: Path | str) -> tuple[dict[str, torch.Tensor], dict]:
    """Load and verify one checkpoint (either of its two files may be named).

    Returns CPU tensors and the metadata. Raises CheckpointError with a one-line reason for a
    missing, truncated, tampered, newer-format or non-finite checkpoint. Any thread may call it.
    """
    path = Path(path)
    base = path.with_suffix("")
    jpath, tpath = base.with_suffix(".json"), base.with_suffix(".safetensors")
    try:
        meta = json.loads(jpath.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{jpath.name}: checkpoint metadata is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{jpath.name}: unreadable checkpoint metadata ({e.__class__.__name__})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{jpath.name}: checkpoint metadata is not an object")
    version = meta.get("format")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{jpath.name}: made by a newer GAN Studio (format {version}); please update GAN Studio"
        )
    try:
        size = tpath.stat().st_size
        if size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{tpath.name}: file is implausibly large ({size >> 20} MB)")
        blob = tpath.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{tpath.name}: checkpoint weights are missing") from None
    except OSError as e:
        raise CheckpointError(f"{tpath.name}: cannot read ({e.strerror})") from None
    # Every format-1 checkpoint carries its hash: a file without one is damaged or hand-made, and
    # accepting it would switch the integrity check off (project/schema.py checks the rest).
    check_checkpoint_meta(meta, jpath.name)
    if meta["sha256"] != hashlib.sha256(blob).hexdigest():
        raise CheckpointError(f"{tpath.name}: weights do not match their metadata (file damaged or replaced)")
    tensors = load_safetensors_bytes(blob, tpath.name)
    return tensors, meta


def load_safetensors_bytes(blob: bytes, name: str) -> dict[str, torch.Tensor]:
    """Parse safetensors bytes defensively; any malformation becomes a CheckpointError."""
    try:
        tensors = st_load(blob)
    except Exception as e:  # safetensors raises its own error types for bad headers/offsets
        raise CheckpointError(f"{name}: not a valid safetensors file ({str(e).splitlines()[0][:120]})") from None
    for k, t in tensors.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise CheckpointError(f"{name}: tensor '{k}' holds NaN or infinite values")
    return tensors


def load_latest(folder: Path | str, check=None) -> tuple[dict[str, torch.Tensor], dict] | None:
    """The newest checkpoint that verifies; damaged newer ones are skipped. None if there is none.
    `check(tensors, meta, name)` may refuse a candidate with CheckpointError (it is then skipped too)."""
    errors = []
    for _, p in reversed(list_checkpoints(folder)):
        try:
            tensors, meta = load_checkpoint(p)
            if check is not None:
                check(tensors, meta, p.name)
            return tensors, meta
        except CheckpointError as e:
            errors.append(str(e))
    if errors:
        raise CheckpointError("no loadable checkpoint: " + errors[0])
    return None


def prune_checkpoints(folder: Path | str, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints (JSON first, so a pruned one is never half-listed)."""
    for _, p in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        for q in (p, p.with_suffix(".safetensors")):
            try:
                q.unlink()
            except OSError:
                pass


def clean_checkpoint_folder(folder: Path | str) -> None:
    """Remove temp files left by a process killed mid-save (call it holding the project's training lock).

    A tensor file without its JSON stays: it may be a kill between a save's two renames, but it may as
    well be trained weights whose metadata was lost or deleted, and nothing proves which. It is ignored
    (never listed or loaded) and a later save of the same step replaces it."""
    remove_stale_temp_files(folder)


class ResumeRefused(CheckpointError):
    """A project that was trained, but whose checkpoints are missing or none of them loads."""


def load_resume_point(project, check=None) -> tuple[dict[str, torch.Tensor], dict] | None:
    """The checkpoint `project` (a Project) continues from: the newest that verifies (see load_latest).

    None only for a project that never got past step 0, which starts from scratch. A project that was
    trained (a step, history, sample grids or weight files past step 0) but has no loadable checkpoint
    raises ResumeRefused, one line saying what was found and what `resume --restart` would do: starting
    over silently would append a second run to its history and replace its weights."""
    try:
        found = load_latest(project.checkpoints_dir, check=check)
    except CheckpointError as e:
        found, reason = None, str(e)
    else:
        reason = ("checkpoints/ is missing" if not project.checkpoints_dir.is_dir()
                  else "checkpoints/ holds no checkpoint metadata (step-N.json files)")
    if found is not None:
        return found
    trained, traces = training_traces(project)
    if not trained:
        return None
    raise ResumeRefused(
        f"{project.root} was trained ({', '.join(traces)}) but cannot continue: {reason}. Nothing was changed. "
        f"'gan-studio resume {project.root} --restart' would train it again from step 0 and move these files "
        f"into {SET_ASIDE_DIR}/ in the project."
    )


def training_traces(project) -> tuple[bool, list[str]]:
    """(whether `project` was trained past step 0, what its training left, in words: "history up to
    step 40", "3 weight files in checkpoints/", ...). Step 0 alone is a new project's starting point."""
    traces, trained = [], False
    if project.step > 0:
        traces.append(f"project.json says step {project.step}")
        trained = True
    steps = [r.get("step", 0) for r in project.read_history()]
    steps = [s for s in steps if isinstance(s, int) and s > 0]
    if steps:
        traces.append(f"history up to step {max(steps)}")
        trained = True
    grids = [s for s, _ in project.sample_steps()]
    if grids:
        traces.append(f"{counted(len(grids), 'sample grid')} up to step {max(grids)}")
        trained = trained or max(grids) > 0
    weights = [s for s, p in step_files(project.checkpoints_dir) if p.suffix == ".safetensors"]
    if weights:
        traces.append(f"{counted(len(weights), 'weight file')} in checkpoints/")
        trained = trained or max(weights) > 0
    return trained, traces


SET_ASIDE_DIR = "set-aside"


def set_aside_training(project) -> Path | None:
    """Move everything `project`'s training wrote (checkpoint files, sample grids, history) into
    set-aside/<date-time>/ in the project and reset its step to 0: what `resume --restart` does before
    training from scratch. Nothing is deleted. Returns the folder, or None when there was nothing."""
    moves = [p for _, p in step_files(project.checkpoints_dir)]
    moves += [p for _, p in project.sample_steps()]
    if project.history_path.exists():
        moves.append(project.history_path)
    if not moves:
        project.save_meta(step=0)
        return None
    dest = project.root / SET_ASIDE_DIR / time.strftime("%Y%m%d-%H%M%S")
    n = 1
    while dest.exists():
        n += 1
        dest = dest.with_name(f"{dest.name.split('.')[0]}.{n}")
    for p in moves:
        target = dest / p.relative_to(project.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        p.rename(target)  # same file system: a rename, never a copy and delete
    project.save_meta(step=0)
    return dest


def checkpoints_to_try(project, checkpoint: Path | str | None = None) -> list[Path]:
    """The checkpoint(s) a loader should try for `project`, newest first: the given one, or every
    committed one (so a damaged newest falls back to an older one). UserError for an untrained project."""
    from studio.engine.errors import UserError

    if checkpoint is not None:
        return [Path(checkpoint)]
    found = list_checkpoints(project.checkpoints_dir)
    if not found:
        raise UserError(f"{project.root} has no trained checkpoint yet; train it first.")
    return [p for _, p in reversed(found)]
