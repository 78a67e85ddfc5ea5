"""Session factories for the training worker: a new project, or continuing an existing one.

Each returns a function `(progress, should_cancel) -> TrainingSession` that the TrainWorker calls
on its own thread, so decoding images and restoring checkpoints never block the GUI.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig


def new_project(out: str | Path, kind: str, folders: dict[str, str], data_cfg: DataConfig,
                settings: RunSettings, overrides: dict | None = None, parent: str | None = None):
    """Create the project folder and its trainer (see studio.engine.models.sessions.create_session);
    `parent`: the trained model it starts from (fine-tuning)."""

    def make(progress, should_cancel):
        from studio.engine.models.sessions import create_session

        return create_session(out, kind, folders, data_cfg, settings, dict(overrides or {}),
                              progress=progress, should_cancel=should_cancel, parent=parent)

    return make


def continue_project(root: str | Path, steps: int | None = None, sample_every: int | None = None,
                     checkpoint_every: int | None = None, device: str | None = None):
    """Open a project at its latest checkpoint, optionally with a new step target / schedules,
    which are saved into project.json so the command line continues the same way."""

    def make(progress, should_cancel):
        from studio.engine.models.sessions import open_session

        session = open_session(root, device=device, steps=steps, progress=progress, should_cancel=should_cancel)
        changes = {k: v for k, v in (("sample_every", sample_every), ("checkpoint_every", checkpoint_every))
                   if v is not None and v != getattr(session.settings, k)}
        if changes:
            session.settings = dataclasses.replace(session.settings, **changes)
            session.project.save_meta(run=dataclasses.asdict(session.settings))
        return session

    return make


def run_settings_of(project_meta: dict) -> RunSettings:
    """The RunSettings stored in a project's metadata (defaults for missing fields)."""
    from studio.engine.config import config_from_dict

    return config_from_dict(RunSettings, project_meta.get("run"))
