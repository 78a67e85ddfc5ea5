"""The bundled demo projects (models/ in the repository): a DCGAN on procedural faces, a CycleGAN
on day/night scenes, a pix2pix turning sketches into faces and a style-based generator of faces
(explored in W), made by scripts/make_demo_models.py.

Bundled files are never modified: a demo is copied into the user's data folder the first time it
is opened, and the copy is what the studio explores, bookmarks into and exports from."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from studio.engine.errors import UserError
from studio.engine.project.folder import Project

DEMOS = {"faces": "demo-faces", "scenes": "demo-scenes", "sketch": "demo-sketch", "style": "demo-style"}


def bundled_models_dir() -> Path:
    """models/ beside the studio package ($GAN_STUDIO_MODELS overrides, e.g. for packagers)."""
    env = os.environ.get("GAN_STUDIO_MODELS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "models"


def user_data_dir() -> Path:
    """Where the studio keeps its own files: $GAN_STUDIO_DATA, else $XDG_DATA_HOME/gan-studio,
    else ~/.local/share/gan-studio."""
    env = os.environ.get("GAN_STUDIO_DATA")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "gan-studio"


def demo_available(which: str = "faces") -> bool:
    return Project.is_project(bundled_models_dir() / DEMOS[which])


def demo_project(which: str = "faces") -> Path:
    """The user's copy of a bundled demo project, made on first use; returns its folder.

    Raises UserError when the bundle is missing (e.g. a trimmed install). Any thread may call it."""
    if which not in DEMOS:
        raise UserError(f"Unknown demo '{which}' (choose {', '.join(DEMOS)}).")
    source = bundled_models_dir() / DEMOS[which]
    target = user_data_dir() / "demos" / DEMOS[which]
    if Project.is_project(target):
        return target
    if not Project.is_project(source):
        raise UserError(f"The bundled demo model is missing ({source}); reinstall GAN Studio or run "
                        "scripts/make_demo_models.py.")
    target.parent.mkdir(parents=True, exist_ok=True)
    # copy beside the target, then rename: a half-copied demo is never mistaken for a project
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-demo-", dir=target.parent))
    try:
        shutil.copytree(source, tmp / "p")
        os.replace(tmp / "p", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
