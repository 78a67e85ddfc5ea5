"""Preparing the image folders of a new project (for the dataset report) on a worker thread.

`prepare_folders(...)` returns a function for `TaskRunner.start()`: it scans the folders, reads
image headers to suggest settings, then decodes every image at the suggested size (the engine
caches the result, so creating the project right after does not decode again). Plain data in
and out: the UI turns the uint8 arrays into thumbnails on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from studio.engine.data.dataset import DataConfig, ImageDataset, prepare_dataset, scan_folder
from studio.engine.errors import UserError
from studio.engine.models import get_kind
from studio.engine.models.kind import Suggestion
from studio.engine.suggest import DeviceInfo, device_info, probe_sizes


@dataclass
class PreparedData:
    """The outcome of preparing a new project's folders. Read-only once made; any thread."""

    kind: str  # a key of studio.engine.models.KINDS
    folders: dict[str, str]  # role -> folder
    data_cfg: DataConfig  # the training data settings (size = the suggested training size)
    datasets: dict[str, ImageDataset]  # role -> prepared images (at the kind's load size)
    suggestion: Suggestion
    device: DeviceInfo

    @property
    def counts(self) -> dict[str, int]:
        return {r: len(d) for r, d in self.datasets.items()}


def prepare_folders(kind: str, folders: dict[str, str], data_cfg: DataConfig | None = None, device: str = "auto",
                    size: int | None = None):
    """A task function (see studio.app.task_worker) preparing `folders` for a `kind` project.

    `size` forces the training size instead of suggesting one."""
    spec = get_kind(kind)
    missing = [r.title for r in spec.roles if not folders.get(r.name)]
    if missing:
        raise UserError(f"Choose a folder for {', '.join(missing)}.")
    base_cfg = data_cfg or DataConfig()

    def run(progress, should_cancel) -> PreparedData:
        progress(0, 0, "Looking at the images…")
        files = {r.name: scan_folder(folders[r.name]) for r in spec.roles}
        for role, found in files.items():
            if not found:
                raise UserError(f"No images found in {folders[role]} (JPEG, PNG, WebP, BMP, GIF or TIFF).")
        sizes = [wh for found in files.values() for wh in probe_sizes(found)]
        dev = device_info(device)
        sug = spec.suggest([len(f) for f in files.values()], sizes, dev)
        if size is not None:
            sug = replace(sug, size=size, reasons={**sug.reasons, "size": "Chosen by you"})
        cfg = replace(base_cfg, size=sug.size)
        model_cfg = spec.default_config(cfg, {}, {})
        load_cfg = spec.load_config(model_cfg, cfg)
        datasets = {}
        for role in (r.name for r in spec.roles):
            title = spec.role(role).title

            def role_progress(done, total, title=title):
                progress(done, total, f"Preparing {title.lower()}: {done} of {total}")

            datasets[role] = prepare_dataset(folders[role], load_cfg, progress=role_progress, should_cancel=should_cancel)
        return PreparedData(kind, dict(folders), cfg, datasets, sug, dev)

    return run
