"""Preparing the image folders of a new project (for the dataset report) on a worker thread.

`prepare_folders(...)` returns a function for `TaskRunner.start()`: it scans the folders, reads
image headers to suggest settings, then decodes every image at the suggested size (the engine
caches the result, so creating the project right after does not decode again), and times a few
real training steps with the suggested settings for the wizard's estimate. `timing_task(...)`
times them again for other settings. Plain data in and out: the UI turns the uint8 arrays into
thumbnails on the GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from studio.engine.config import RunSettings
from studio.engine.data.dataset import DataConfig, ImageDataset, scan_folder
from studio.engine.errors import UserError
from studio.engine.models import get_kind
from studio.engine.models.kind import Suggestion
from studio.engine.models.suggest import DeviceInfo, device_info, probe_sizes
from studio.engine.train.estimate import StepCost


@dataclass
class PreparedData:
    """The outcome of preparing a new project's folders. Read-only once made; any thread."""

    kind: str  # a key of studio.engine.models.KINDS
    folders: dict[str, str]  # role -> folder
    data_cfg: DataConfig  # the training data settings (size = the suggested training size)
    datasets: dict[str, ImageDataset]  # role -> prepared images (at the kind's load size)
    suggestion: Suggestion
    device: DeviceInfo
    cost: StepCost | None = None  # timing of the suggested settings (None: could not be measured)
    parent: str | None = None  # the trained model a fine-tuned project starts from (models/finetune.py)

    @property
    def counts(self) -> dict[str, int]:
        return {r: len(d) for r, d in self.datasets.items()}


@dataclass(frozen=True)
class NewProjectRequest:
    """Everything needed to create and start a project (see studio.app.sessions.new_project)."""

    out: str  # the new project folder
    kind: str  # a key of studio.engine.models.KINDS
    folders: dict[str, str]  # role -> image folder
    data_cfg: DataConfig
    settings: RunSettings
    overrides: dict  # model config values (batch, flip, the kind's options)
    parent: str | None = None  # the trained project or model file it starts from (fine-tuning)


def build_request(prepared: PreparedData, out: str, data_cfg: DataConfig, run: RunSettings,
                  **given) -> NewProjectRequest:
    """The request for a new project from `prepared` folders: the values in `given` (size, batch,
    flip, steps, sample_every, checkpoint_every, the kind's options; None: not given) over the
    suggestion, the same way `gan-studio train` fills what its user did not give."""
    chosen = prepared.suggestion.chosen(**given)
    data_cfg, settings, overrides = chosen.project_settings(data_cfg, run)
    return NewProjectRequest(str(out), prepared.kind, dict(prepared.folders), data_cfg, settings, overrides,
                             parent=prepared.parent)


def prepare_folders(kind: str, folders: dict[str, str], data_cfg: DataConfig | None = None, device: str = "auto",
                    size: int | None = None, options: dict | None = None, parent: str | None = None):
    """A task function (see studio.app.task_worker) preparing `folders` for a `kind` project.

    `size` forces the training size instead of suggesting one. `options`: model options chosen with the
    folders (how inputs are made from one folder of pictures); they stand in the suggestion. `parent`: a
    trained model of the kind the project starts from; the kind's fine-tuning suggestion applies (its
    network and size)."""
    spec = get_kind(kind)
    options = dict(options or {})
    roles = spec.roles_for(folders)  # the set of folders given, among those the kind can train from
    folders = {r.name: folders[r.name] for r in roles}
    base_cfg = data_cfg or DataConfig()

    def run(progress, should_cancel) -> PreparedData:
        progress(0, 0, "Looking at the images…")
        files = {r.name: scan_folder(folders[r.name]) for r in roles}
        for role, found in files.items():
            if not found:
                raise UserError(f"No images found in {folders[role]} (JPEG, PNG, WebP, BMP, GIF or TIFF).")
        sizes = [wh for found in files.values() for wh in probe_sizes(found)]
        dev = device_info(device)
        parent_cfg = None
        if parent:
            from studio.engine.models.finetune import read_parent

            parent_cfg = read_parent(parent).model_config(spec)

        def fine_tuned(s: Suggestion) -> Suggestion:
            return s if parent_cfg is None else spec.fine_tune_suggestion(s, parent_cfg)

        sug = _forced(fine_tuned(spec.suggest([len(found) for found in files.values()], sizes, dev)), size)
        cfg = replace(base_cfg, size=sug.size)
        model_cfg = spec.default_config(cfg, {}, options)
        load_cfg = spec.load_config(model_cfg, cfg)

        def images_progress(done, total):
            progress(done, total, f"Preparing the images: {done} of {total}")

        # The kind prepares them: paired folders are matched, side-by-side pictures split.
        datasets = spec.prepare_datasets(roles, folders, load_cfg, model_cfg, progress=images_progress,
                                         should_cancel=should_cancel)
        # Suggest again from the images that will be used (damaged files are skipped), so the
        # settings page counts what the report does; the size stays the one decoded at.
        used = [len(datasets[r.name]) for r in roles]
        if used != [len(files[r.name]) for r in roles]:
            again = _forced(fine_tuned(spec.suggest(used, sizes, dev)), size)
            sug = replace(again, size=sug.size, reasons={**again.reasons, "size": sug.reasons["size"]})
        sug = spec.suggest_for_datasets(sug, datasets)  # what the decoded images tell (sub-folders as classes)
        sug = sug.chosen(**options)  # chosen with the folders: they stand
        prepared = PreparedData(kind, dict(folders), cfg, datasets, sug, dev, parent=parent)
        timing = timing_task(prepared, sug.size, sug.batch, sug.options, device)
        prepared.cost = timing(progress, should_cancel)
        return prepared

    return run


def _forced(sug: Suggestion, size: int | None) -> Suggestion:
    """`sug` with the training size `size` when the user forced one (None: as suggested)."""
    return sug if size is None else replace(sug, size=size, reasons={**sug.reasons, "size": "Chosen by you"})


def timing_task(prepared: PreparedData, size: int, batch: int, options: dict, device: str = "auto"):
    """A task function timing a few real training steps of `prepared`'s kind on its images at
    `size` with `batch` and the kind's `options`, on `device`; returns a StepCost, or None when
    these settings cannot train (the settings page says why when the project is created).
    Reports "Timing a few training steps…" as it goes; cancellable between steps."""

    def run(progress, should_cancel) -> StepCost | None:
        from studio.engine.device import pick_device
        from studio.engine.train.estimate import datasets_at, measure_step_seconds

        spec = get_kind(prepared.kind)
        data_cfg = replace(prepared.data_cfg, size=size)
        overrides = {**options, "batch": batch}
        try:
            preview = spec.default_config(data_cfg, {}, overrides)
            datasets = datasets_at(prepared.datasets, spec.load_config(preview, data_cfg).size)
            cfg = spec.default_config(data_cfg, datasets, overrides)
            dev = pick_device(device)
        except UserError:
            return None

        def step_progress(done, total):
            progress(done, total, f"Timing a few training steps on this computer: {done} of {total}")

        step_progress(0, 1)
        return measure_step_seconds(spec, cfg, datasets, dev, settings=RunSettings(),
                                    progress=step_progress, should_cancel=should_cancel)

    return run
