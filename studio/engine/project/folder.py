"""The project folder: everything about one model, readable without the app.

    project.json      kind, configs, dataset folders + fingerprint, step, versions
    checkpoints/      step-NNNNNNN.safetensors + .json (see checkpoint.py)
    samples/          step-NNNNNNN.png fixed-noise grids (the time-lapse source)
    history.jsonl     one JSON line per logged step
    exports/          what the user exported
    explore.json      named latents, directions and favourites (explore/bookmarks.py)

`ProjectLayout` is the one place these names are spelled; everything else asks it (or a `Project`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import numpy as np

from studio import __version__
from studio.engine.atomic import remove_stale_temp_files, write_text_atomic
from studio.engine.errors import UserError
from studio.engine.images import save_png
from studio.engine.project import lock as training_lock
from studio.engine.project.checkpoint_files import checkpoint_name, list_checkpoints
from studio.engine.project.schema import check_project_meta, history_record

PROJECT_FILE = "project.json"
EXPLORE_FILE = "explore.json"
PROJECT_FORMAT = 1
_SAMPLE = re.compile(r"^step-(\d{7,})\.png$")


class ProjectLayout:
    """Where each part of a project folder lives. Needs no project.json: also for a folder known only
    by its path (a recent project, the explorer's store, a folder about to become a project)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    @property
    def meta_path(self) -> Path:
        return self.root / PROJECT_FILE

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    def checkpoint_path(self, step: int) -> Path:
        """The JSON file of the checkpoint of `step` (written last, so it marks a complete one)."""
        return self.checkpoints_dir / f"{checkpoint_name(step)}.json"

    @property
    def samples_dir(self) -> Path:
        return self.root / "samples"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    @property
    def history_path(self) -> Path:
        return self.root / "history.jsonl"

    @property
    def explore_path(self) -> Path:
        return self.root / EXPLORE_FILE


class Project(ProjectLayout):
    """A project folder on disk. Methods do small synchronous file I/O; any single thread may use
    one Project object (the training worker and the GUI each open their own)."""

    def __init__(self, root: Path | str, meta: dict):
        super().__init__(root)
        self.meta = meta
        self.history_skipped = 0  # lines of history.jsonl the last read_history() could not use

    # ----- what it holds ---------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def step(self) -> int:
        return int(self.meta.get("step", 0))

    @property
    def name(self) -> str:
        return self.root.name

    # ----- create / open ---------------------------------------------------------------------
    @staticmethod
    def is_project(path: Path | str) -> bool:
        return ProjectLayout(path).meta_path.is_file()

    def data_folders(self) -> list[str]:
        """The image folders this project trains on, as recorded."""
        return list(self.meta.get("data", {}).get("folders", {}).values())

    @classmethod
    def check_new_root(cls, root: Path | str, data_folders=()) -> Path:
        """UserError unless `root` can become a new project (absent or an empty folder) outside
        every folder of `data_folders` (its sample grids would become training images)."""
        root = Path(root).expanduser()
        for folder in data_folders:
            if root.resolve().is_relative_to(Path(folder).expanduser().resolve()):
                raise UserError(f"{root} is inside the image folder {folder}: the project's sample grids would be "
                                "trained on. Choose a project folder outside it.")
        if cls.is_project(root):
            raise UserError(f"{root} already holds a project; use 'gan-studio resume {root}' or choose another folder.")
        if root.exists() and not root.is_dir():
            raise UserError(f"{root} is a file, not a folder.")
        if root.is_dir() and any(root.iterdir()):
            raise UserError(f"{root} is not empty; choose a new or empty folder for the project.")
        return root

    @classmethod
    def create(cls, root: Path | str, kind: str, meta: dict) -> Project:
        """Create a new project folder. `meta` holds kind-specific sections (model, data, run).

        Raises UserError if `root` already holds a project or is a non-empty folder of other files,
        so a user's work is never overwritten."""
        root = cls.check_new_root(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"Cannot create project folder {root}: {e.strerror}.") from None
        full = {
            "format": PROJECT_FORMAT,
            "kind": kind,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "step": 0,
            **meta,
            "versions": _versions(),
        }
        project = cls(root, full)
        project.save_meta()
        return project

    @classmethod
    def open(cls, root: Path | str, clean: bool = True) -> Project:
        """Open an existing project folder; UserError if it is missing or not a project.
        `clean` removes temp files a killed process left (off for processes that only read)."""
        root = Path(root).expanduser()
        if not root.exists():
            raise UserError(f"Project folder {root} does not exist.")
        path = root / PROJECT_FILE
        if not path.is_file():
            raise UserError(f"{root} is not a GAN Studio project (no {PROJECT_FILE}).")
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UserError(f"{path} is damaged and cannot be read ({e.__class__.__name__}).") from None
        meta = check_project_meta(meta, path, PROJECT_FORMAT)
        project = cls(root, meta)
        # A process killed between writing a checkpoint and updating project.json leaves the step
        # behind: the newest committed checkpoint is what a resume continues from.
        newest = list_checkpoints(project.checkpoints_dir)
        if newest:
            meta["step"] = newest[-1][0]
        if clean and project.writable:
            # Not under another process's live training: its temp files are writes in progress.
            training_lock.while_unlocked(root, lambda: (remove_stale_temp_files(root),
                                                        remove_stale_temp_files(project.samples_dir)))
        return project

    @property
    def writable(self) -> bool:
        import os

        return os.access(self.root, os.W_OK)

    def save_meta(self, **updates) -> None:
        """Update top-level fields of project.json and write it atomically."""
        self.meta.update(updates)
        self.meta["versions"] = _versions()
        write_text_atomic(self.meta_path, json.dumps(self.meta, indent=2, sort_keys=False))

    # ----- samples and history ----------------------------------------------------------------
    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step-{step:07d}.png"

    def save_samples(self, step: int, grid: np.ndarray) -> Path:
        self.samples_dir.mkdir(exist_ok=True)
        path = self.sample_path(step)
        save_png(path, grid)
        return path

    def sample_steps(self) -> list[tuple[int, Path]]:
        """Saved sample grids as (step, path), oldest first: the timeline / time-lapse source."""
        if not self.samples_dir.is_dir():
            return []
        out = [(int(m.group(1)), p) for p in self.samples_dir.iterdir() if (m := _SAMPLE.match(p.name))]
        return sorted(out)

    def append_history(self, record: dict) -> None:
        # One small append per logged step; a torn last line after a kill is skipped by read_history.
        with open(self.history_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")

    def read_history(self) -> list[dict]:
        """All history records. A torn trailing line (a kill mid-append) is skipped silently; other
        lines that are not records ({"step": "x"}, [1, 2]) are skipped and counted in
        `history_skipped`, with a warning logged, so one bad line never blanks the loss plot."""
        self.history_skipped = 0
        if not self.history_path.exists():
            return []
        out = []
        lines = self.history_path.read_text(encoding="utf-8", errors="replace").splitlines()
        for i, line in enumerate(lines):
            try:
                record = history_record(json.loads(line))
            except (json.JSONDecodeError, RecursionError):
                record = None
                if i == len(lines) - 1:
                    continue
            if record is None:
                self.history_skipped += 1
            else:
                out.append(record)
        if self.history_skipped:
            logging.getLogger(__name__).warning(
                "%s: skipped %d line(s) that are not training records.", self.history_path, self.history_skipped)
        return out

    def truncate_history(self, after_step: int) -> None:
        """Drop history lines newer than `after_step` (after resuming from an older checkpoint),
        so the loss curves never show a step twice."""
        records = [r for r in self.read_history() if r["step"] <= after_step]
        write_text_atomic(self.history_path, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))


def _versions() -> dict:
    import platform

    import torch

    return {"studio": __version__, "torch": torch.__version__, "python": platform.python_version()}
