"""Where a project's training images live, and pointing it at their new place after a move.

Continuing a project needs its images (the trainer draws batches from them). A designer moves
and renames folders; the project then says where they were, and this module lets the studio
and the command line point it at where they are now. A bundled demo's images were drawn by the
program and never existed as files: its folder entry says how to draw them again."""

from __future__ import annotations

from pathlib import Path

from studio.engine.errors import UserError
from studio.engine.project.folder import Project

PROCEDURAL_PREFIX = "(procedural:"


class ImagesMissing(UserError):
    """A project's training-image folder is not where the project says. `missing` maps each role
    ("data", "A", "B") to the folder recorded for it."""

    def __init__(self, missing: dict[str, str]):
        self.missing = dict(missing)
        role, folder = next(iter(self.missing.items()))
        if is_procedural(folder):
            how = folder[len(PROCEDURAL_PREFIX):].strip().removesuffix(")").strip()
            text = (f"The training images of this demo were drawn by the program and are not stored with it; to "
                    f"train it further, draw them again ({how}) and point the project at them.")
        else:
            text = f"The training images of this project are gone: {folder} does not exist."
        super().__init__(text)


def is_procedural(folder: str) -> bool:
    return folder.startswith(PROCEDURAL_PREFIX)


def missing_folders(project: Project) -> dict[str, str]:
    """Roles whose recorded image folder (or video clip, a file) is not on this computer now."""
    folders = project.meta.get("data", {}).get("folders", {})
    return {role: folder for role, folder in folders.items() if not _present(folder)}


def _present(source: str | Path) -> bool:
    path = Path(source).expanduser()
    return path.is_dir() or path.is_file()


def check_folders(project: Project) -> None:
    """ImagesMissing when any of the project's image folders is gone; UserError for a project that
    cannot continue training whatever its images (`continuation_refused`)."""
    refused = continuation_refused(project)
    if refused:
        raise UserError(refused)
    missing = missing_folders(project)
    if missing:
        raise ImagesMissing(missing)


def continuation_refused(project: Project) -> str | None:
    """The sentence saying why `project` cannot continue its own training, whatever its images: an
    imported model, which never had any (models/stylegan/pkl_import.py), or a project bundled with
    its generator alone (scripts/make_demo_models.py: no critic or optimizer state to continue
    from). None for any other project."""
    start_new = ("start a new project from it (File ▸ New Project from This Model…, or "
                 f"'gan-studio train {project.kind} --from {project.root} --data FOLDER').")
    imported = project.meta.get("imported")
    if isinstance(imported, dict) and not project.meta.get("data", {}).get("folders"):
        name = Path(str(imported.get("from", "a model file"))).name
        return f"This project was imported from {name} and has no training images of its own. To train it on yours, " \
               f"{start_new}"
    if project.meta.get("generator_only"):
        return ("This project keeps only its trained generator (it was bundled for exploring, without the critic and "
                f"the training state), so its own training cannot continue. To train it on your images, {start_new}")
    return None


def relocate(project: Project, new: dict[str, str | Path]) -> None:
    """Record new places for some of the project's image folders (written to project.json at once).
    The images need not be identical: continuing warns when they changed, as for any folder."""
    data = dict(project.meta.get("data", {}))
    folders = dict(data.get("folders", {}))
    for role, folder in new.items():
        if role not in folders:
            raise UserError(f"This project has no '{role}' images to relocate (it has: {', '.join(folders)}).")
        if not _present(folder):
            raise UserError(f"Folder not found: {folder}.")
        folders[role] = str(Path(folder).expanduser().resolve())
    if folders == data.get("folders", {}):
        return  # already recorded: no write (ranks of a multi-process run all get the same flags)
    data["folders"] = folders
    project.save_meta(data=data)
