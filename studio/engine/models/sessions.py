"""Building a training session for a project of any kind: new (`create_session`) or continued (`open_session`).

Front ends call these and then drive the returned TrainingSession; the kind (`ModelKind`) says
which data folders it needs and builds its trainer.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Callable
from pathlib import Path

from studio.engine.config import RunSettings, config_from_dict
from studio.engine.data.dataset import DataConfig, ImageDataset
from studio.engine.device import pick_device
from studio.engine.errors import UserError
from studio.engine.models import get_kind
from studio.engine.models.finetune import Parent, check_parent, parent_record, read_parent, transfer
from studio.engine.models.kind import ModelKind
from studio.engine.project import lock as training_lock
from studio.engine.project.checkpoints import set_aside_training
from studio.engine.project.folder import Project
from studio.engine.project.relocation import check_folders
from studio.engine.train.distributed import SINGLE, DistInfo
from studio.engine.train.session import TrainingSession
from studio.engine.train.trainer_base import check_batch_split

Progress = Callable[[int, int], None]


def load_datasets(
    spec: ModelKind,
    folders: dict[str, str],
    data_cfg: DataConfig,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    model_cfg=None,
) -> dict[str, ImageDataset]:
    """The datasets of the role set `folders` fills (`ModelKind.roles_for`), prepared by the kind."""
    roles = spec.roles_for(folders)
    return spec.prepare_datasets(roles, folders, data_cfg, model_cfg, progress=progress, should_cancel=should_cancel)


def create_session(
    out: Path | str,
    kind: str,
    folders: dict[str, str],
    data_cfg: DataConfig,
    settings: RunSettings,
    overrides: dict | None = None,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    dist_info: DistInfo = SINGLE,
    devices: int = 1,
    parent: Path | str | Parent | None = None,
) -> TrainingSession:
    """Prepare the data, derive the model config, create the project folder and its trainer.

    `parent`: a trained project or model file of the same kind (or one `read_parent` read) the new
    project starts from: its weights are copied in (models/finetune.py), it is recorded in
    project.json, and a step-0 checkpoint holds the starting point.

    `devices` > 1: the project is for a data-parallel run of that many processes (they open it once
    this process has made it); what would stop them is refused here, before any folder exists.
    Raises UserError for anything the user can fix (bad folders, sizes, an occupied --out)."""
    spec = get_kind(kind)
    Project.check_new_root(out, folders.values())  # before minutes of decoding, not after
    if parent is not None and not isinstance(parent, Parent):
        parent = read_parent(parent)
    folders = {r: str(Path(f).expanduser().resolve()) for r, f in folders.items()}
    preview = spec.default_config(data_cfg, {}, dict(overrides or {}))  # validates sizes before any decoding
    if parent is not None:
        check_parent(spec, parent, preview)
    if devices > 1:
        _check_multi_device(spec)
        check_batch_split(preview.batch, devices)
    load_cfg = spec.load_config(preview, data_cfg)
    datasets = load_datasets(spec, folders, load_cfg, progress, should_cancel, model_cfg=preview)
    model_cfg = spec.default_config(data_cfg, datasets, dict(overrides or {}))
    device = pick_device(settings.device)
    trainer = make_trainer(spec, model_cfg, settings, datasets, device, dist_info)
    lineage = {}
    if parent is not None:
        report = transfer(trainer, spec, parent)
        report.notes.extend(trainer.started_from_parent(report.fresh))
        lineage = {"parent": parent_record(parent, report)}
    project = Project.create(
        out,
        kind,
        {
            "model": dataclasses.asdict(model_cfg),
            "data": {
                "config": dataclasses.asdict(data_cfg),
                "folders": folders,
                "fingerprints": {r: d.fingerprint for r, d in datasets.items()},
                "counts": {r: len(d.images) for r, d in datasets.items()},
                "reports": {r: d.report.to_dict() for r, d in datasets.items()},
            },
            "run": dataclasses.asdict(settings),
            **lineage,
        },
    )
    session = TrainingSession(project, trainer, settings)
    if dist_info.is_main:
        _hold_lock(session, training_lock.acquire(project.root))
        if lineage:
            session.save_checkpoint()  # the starting point, for every process of a data-parallel run too
    return session


def open_session(
    root: Path | str,
    device: str | None = None,
    steps: int | None = None,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    dist_info: DistInfo = SINGLE,
    restart: bool = False,
) -> TrainingSession:
    """Open a project to continue training exactly where its latest checkpoint stopped; with `restart`,
    from step 0, the earlier run's files moved aside (checkpoints.set_aside_training).

    The main process takes the project's training lock first (ProjectLocked when another process
    trains it); the session holds it until `session.close()`. ResumeRefused for a trained project
    whose checkpoints are missing or damaged."""
    lock = None
    if dist_info.is_main and Project.is_project(root):
        # A project that cannot train here (its images are gone, a bundled demo) says so before its
        # folder gains a lock file; the lock comes before the Project.open that removes temp files,
        # which must not run under another live trainer.
        check_folders(Project.open(root, clean=False))
        lock = training_lock.acquire(root)
    try:
        session = _open_session(root, device, steps, progress, should_cancel, dist_info, restart)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if lock is not None:
        _hold_lock(session, lock)
    return session


def _hold_lock(session: TrainingSession, lock: training_lock.TrainingLock) -> None:
    session.lock = lock
    weakref.finalize(session, lock.release)  # a session dropped without close() still lets go


def _open_session(root, device, steps, progress, should_cancel, dist_info: DistInfo, restart: bool) -> TrainingSession:
    project = Project.open(root, clean=dist_info.is_main)
    spec = get_kind(project.kind)
    settings = config_from_dict(RunSettings, project.meta.get("run"))
    if device is not None:
        settings = dataclasses.replace(settings, device=device)
    if steps is not None:
        settings = dataclasses.replace(settings, steps=steps)
    data = project.meta.get("data", {})
    data_cfg = config_from_dict(DataConfig, data.get("config"))
    model_cfg = config_from_dict(spec.config_cls, project.meta.get("model"))
    folders = data.get("folders", {})
    check_folders(project)
    datasets = load_datasets(spec, folders, spec.load_config(model_cfg, data_cfg), progress, should_cancel,
                             model_cfg=model_cfg)
    warnings = []
    for role, ds in datasets.items():
        # the fingerprint of the scan the dataset was prepared from: each folder is listed once
        old = data.get("fingerprints", {}).get(role)
        if old and ds.fingerprint != old:
            warnings.append(
                f"Images in {folders[role]} changed since this project started (files added, removed or "
                "replaced); training continues on the folder as it is now."
            )
    trainer = make_trainer(spec, model_cfg, settings, datasets, pick_device(settings.device), dist_info)
    session = TrainingSession(project, trainer, settings, warnings)
    if restart:
        if dist_info.active:  # the launcher sets aside once, before the ranks start (cli/main.py)
            raise UserError("--restart cannot be given to the ranks of a multi-process run; use "
                            "'gan-studio resume PROJECT --restart --devices N'.")
        set_aside_training(project)
    session.restore_latest()
    if steps is not None and dist_info.is_main:
        project.save_meta(run=dataclasses.asdict(settings))
    return session


def make_trainer(spec: ModelKind, model_cfg, settings: RunSettings, datasets: dict, device, dist_info: DistInfo):
    """`spec`'s trainer on the fast path for this machine (train/fast_path.py: measured on a model
    shape's first run, then remembered), as every session builds it."""
    if dist_info.active:
        _check_multi_device(spec)
    from studio.engine.train.fast_path import build_trainer

    def make(probe: bool):
        # probe: a throwaway single-process trainer over a few images, to time one candidate path
        if probe:
            few = {r: dataclasses.replace(d, images=d.images[: 2 * model_cfg.batch]) for r, d in datasets.items()}
            return spec.make_trainer(model_cfg, settings, few, device, SINGLE)
        return spec.make_trainer(model_cfg, settings, datasets, device, dist_info)

    # Data-parallel processes must all compute alike: they take a remembered choice or the default.
    return build_trainer(spec.name, spec.approved_paths(), model_cfg, device, make, may_measure=not dist_info.active)


def _check_multi_device(spec: ModelKind) -> None:
    if not spec.capabilities.multi_device:
        raise UserError(f"{spec.title} cannot train on several devices yet; drop --devices.")
